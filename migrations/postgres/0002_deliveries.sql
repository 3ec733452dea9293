-- The outgoing-mail queue. Every email is one row here, written in the same
-- transaction as the state change that causes it; workers claim due rows with
-- a lease (`available_at` moves to the lease's end), so a crashed worker's
-- rows become due again by themselves.

CREATE TABLE digests (
    digest_id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    status            TEXT NOT NULL CHECK (status IN ('sending', 'sent')),
    publication_count BIGINT NOT NULL,
    recipient_count   BIGINT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    finished_at       TIMESTAMPTZ
);

CREATE TABLE deliveries (
    delivery_id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('confirmation', 'digest')),
    subscriber_id BIGINT REFERENCES subscribers (subscriber_id) ON DELETE SET NULL,
    digest_id     BIGINT REFERENCES digests (digest_id),
    -- Confirmation: the token's plaintext, kept only until the email is sent.
    payload       TEXT,
    status        TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
    attempts      BIGINT NOT NULL DEFAULT 0,
    -- queued: when it is due; sending: when the lease ends.
    available_at  TIMESTAMPTZ NOT NULL,
    leased_by     TEXT,
    last_error    TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ
);

CREATE INDEX deliveries_due_idx ON deliveries (available_at, delivery_id)
    WHERE status IN ('queued', 'sending');
CREATE INDEX deliveries_subscriber_idx ON deliveries (subscriber_id);
CREATE UNIQUE INDEX deliveries_digest_subscriber_key ON deliveries (digest_id, subscriber_id)
    WHERE digest_id IS NOT NULL;
-- Finished rows are dead weight for the claim query; let autovacuum keep up.
ALTER TABLE deliveries SET (autovacuum_vacuum_scale_factor = 0.02);

-- One token bucket shared by every worker: SEND_RATE_PER_SEC.
CREATE TABLE send_rate (
    bucket_id   BIGINT PRIMARY KEY CHECK (bucket_id = 1),
    tokens      DOUBLE PRECISION NOT NULL,
    refilled_at TIMESTAMPTZ NOT NULL
);
INSERT INTO send_rate (bucket_id, tokens, refilled_at) VALUES (1, 0, '1970-01-01T00:00:00+00:00');
