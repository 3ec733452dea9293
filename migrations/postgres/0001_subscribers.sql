-- Subscribers with their consent record, confirmation tokens, the suppression
-- list of erased addresses, and server-side keys.

CREATE TABLE subscribers (
    subscriber_id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email                  TEXT NOT NULL,
    name                   TEXT,
    status                 TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'unsubscribed')),
    topics                 TEXT NOT NULL DEFAULT '[]',
    -- The unsubscribe token is HMAC(server key, salt); only its hash is kept.
    unsubscribe_salt       BYTEA NOT NULL,
    unsubscribe_token_hash BYTEA NOT NULL,
    -- Consent: when, how and from where this opt-in started.
    consent_at             TIMESTAMPTZ NOT NULL,
    consent_source         TEXT NOT NULL CHECK (consent_source IN ('form', 'api', 'import')),
    consent_ip             TEXT,
    consent_user_agent     TEXT,
    consent_page           TEXT,
    confirmed_at           TIMESTAMPTZ,
    confirmed_via          TEXT CHECK (confirmed_via IN ('link', 'import')),
    confirmed_ip           TEXT,
    confirmed_user_agent   TEXT,
    unsubscribed_at        TIMESTAMPTZ,
    -- Throttle for confirmation emails to this address.
    last_confirmation_at   TIMESTAMPTZ,
    confirmation_window_started_at TIMESTAMPTZ,
    confirmations_in_window BIGINT NOT NULL DEFAULT 0,
    created_at             TIMESTAMPTZ NOT NULL,
    updated_at             TIMESTAMPTZ NOT NULL
);

-- Addresses are stored with their local part as typed, but one mailbox is one
-- subscriber however it is capitalised (addresses are ASCII, see SubscriberEmail).
CREATE UNIQUE INDEX subscribers_email_key ON subscribers (lower(email));
CREATE UNIQUE INDEX subscribers_unsubscribe_token_hash_key ON subscribers (unsubscribe_token_hash);
CREATE INDEX subscribers_status_idx ON subscribers (status, subscriber_id);

CREATE TABLE confirmation_tokens (
    token_hash    BYTEA PRIMARY KEY,
    subscriber_id BIGINT NOT NULL REFERENCES subscribers (subscriber_id) ON DELETE CASCADE,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    used_at       TIMESTAMPTZ
);
CREATE INDEX confirmation_tokens_subscriber_idx ON confirmation_tokens (subscriber_id);

-- SHA-256 of the lower-cased address of everyone erased: imports skip them.
CREATE TABLE suppressions (
    email_hash TEXT PRIMARY KEY,
    reason     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE server_keys (
    name       TEXT PRIMARY KEY,
    key_bytes  BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
