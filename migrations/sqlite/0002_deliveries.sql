-- The outgoing-mail queue. Every email is one row here, written in the same
-- transaction as the state change that causes it; workers claim due rows with
-- a lease (`available_at` moves to the lease's end), so a crashed worker's
-- rows become due again by themselves.

CREATE TABLE digests (
    digest_id         INTEGER PRIMARY KEY AUTOINCREMENT,
    status            TEXT NOT NULL CHECK (status IN ('sending', 'sent')),
    publication_count INTEGER NOT NULL,
    recipient_count   INTEGER NOT NULL,
    created_at        TEXT NOT NULL,
    finished_at       TEXT
);

CREATE TABLE deliveries (
    delivery_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL CHECK (kind IN ('confirmation', 'digest')),
    subscriber_id INTEGER REFERENCES subscribers (subscriber_id) ON DELETE SET NULL,
    digest_id     INTEGER REFERENCES digests (digest_id),
    -- Confirmation: the token's plaintext, kept only until the email is sent.
    payload       TEXT,
    status        TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    -- queued: when it is due; sending: when the lease ends.
    available_at  TEXT NOT NULL,
    leased_by     TEXT,
    last_error    TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    finished_at   TEXT
);

CREATE INDEX deliveries_due_idx ON deliveries (available_at, delivery_id)
    WHERE status IN ('queued', 'sending');
CREATE INDEX deliveries_subscriber_idx ON deliveries (subscriber_id);
CREATE UNIQUE INDEX deliveries_digest_subscriber_key ON deliveries (digest_id, subscriber_id)
    WHERE digest_id IS NOT NULL;

-- One token bucket shared by every worker: SEND_RATE_PER_SEC.
CREATE TABLE send_rate (
    bucket_id   INTEGER PRIMARY KEY CHECK (bucket_id = 1),
    tokens      REAL NOT NULL,
    refilled_at TEXT NOT NULL
);
INSERT INTO send_rate (bucket_id, tokens, refilled_at) VALUES (1, 0, '1970-01-01T00:00:00+00:00');
