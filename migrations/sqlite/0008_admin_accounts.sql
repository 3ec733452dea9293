-- Dashboard accounts, their sessions, and failed logins (counted per client
-- IP and per account, in the database so that every web process sees them).

CREATE TABLE admins (
    admin_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL,
    -- argon2id, PHC string format.
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX admins_email_key ON admins (lower(email));

-- The cookie carries a random token; only its SHA-256 is kept.
CREATE TABLE admin_sessions (
    session_hash BLOB PRIMARY KEY,
    admin_id     INTEGER NOT NULL REFERENCES admins (admin_id) ON DELETE CASCADE,
    -- Every state-changing form of the session carries this value.
    csrf_token   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
CREATE INDEX admin_sessions_admin_idx ON admin_sessions (admin_id);

CREATE TABLE admin_login_failures (
    -- `ip:<address>` or `account:<lower-cased email>`.
    failure_key TEXT NOT NULL,
    failed_at   TEXT NOT NULL
);
CREATE INDEX admin_login_failures_key_idx ON admin_login_failures (failure_key, failed_at);
