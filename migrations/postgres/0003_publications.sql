-- Publications, the digests that announce them, transactional mail first in
-- the queue, and topic keys for matching readers to categories.

CREATE TABLE publications (
    publication_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url            TEXT NOT NULL,
    title          TEXT NOT NULL,
    summary        TEXT,
    authors        TEXT NOT NULL DEFAULT '[]',
    category       TEXT,
    -- Lower-cased category (Unicode-aware, computed by the application): what
    -- readers' topic keys are compared with.
    category_key   TEXT,
    series         TEXT,
    published_at   TIMESTAMPTZ NOT NULL,
    -- Set once, when a digest announces it (or an import marks it announced):
    -- editing a publication never clears it, so nothing is sent twice.
    announced_at   TIMESTAMPTZ,
    digest_id      BIGINT REFERENCES digests (digest_id),
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX publications_url_key ON publications (url);
CREATE INDEX publications_published_idx ON publications (published_at, publication_id);
CREATE INDEX publications_unannounced_idx ON publications (published_at) WHERE announced_at IS NULL;
CREATE INDEX publications_digest_idx ON publications (digest_id);

-- Lower-cased topics (JSON array), kept beside the topics as typed.
ALTER TABLE subscribers ADD COLUMN topic_keys TEXT NOT NULL DEFAULT '[]';
UPDATE subscribers SET topic_keys = lower(topics);

-- 0 = transactional (confirmations), 1 = digests: claimed in that order.
ALTER TABLE deliveries ADD COLUMN priority BIGINT NOT NULL DEFAULT 0;
DROP INDEX deliveries_due_idx;
CREATE INDEX deliveries_due_idx ON deliveries (priority, available_at, delivery_id)
    WHERE status IN ('queued', 'sending');
-- Finding digests with nothing left to send, and counting a digest's outcomes.
CREATE INDEX deliveries_pending_digest_idx ON deliveries (digest_id) WHERE status IN ('queued', 'sending');
CREATE INDEX deliveries_digest_status_idx ON deliveries (digest_id, status);
