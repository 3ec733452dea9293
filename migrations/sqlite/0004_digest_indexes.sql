-- Fewer index entries per delivery: every signup queues one row, every
-- digest 100,000, and each row changes status twice. The digest indexes
-- skip confirmation rows, one (digest_id, status) index serves both the
-- counts and the "anything pending?" check, and the unique index on
-- (digest_id, subscriber_id) goes: a digest's rows come from one
-- INSERT … SELECT over subscribers, which cannot repeat a subscriber.
DROP INDEX deliveries_pending_digest_idx;
DROP INDEX deliveries_digest_status_idx;
DROP INDEX deliveries_digest_subscriber_key;
CREATE INDEX deliveries_digest_status_idx ON deliveries (digest_id, status) WHERE digest_id IS NOT NULL;
