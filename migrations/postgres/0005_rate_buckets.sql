-- Token buckets shared by every worker: `send` (SEND_RATE_PER_SEC) and
-- `confirmations` (CONFIRMATIONS_PER_HOUR). A bucket at the epoch is full.
CREATE TABLE rate_buckets (
    name        TEXT PRIMARY KEY,
    tokens      DOUBLE PRECISION NOT NULL,
    refilled_at TIMESTAMPTZ NOT NULL
);
INSERT INTO rate_buckets (name, tokens, refilled_at) VALUES
    ('send', 0, '1970-01-01T00:00:00+00:00'),
    ('confirmations', 0, '1970-01-01T00:00:00+00:00');
DROP TABLE send_rate;
