-- Hard bounces (the relay said the address does not exist) per subscriber:
-- at HARD_BOUNCE_LIMIT the subscriber is unsubscribed and suppressed.
ALTER TABLE subscribers ADD COLUMN hard_bounces INTEGER NOT NULL DEFAULT 0;
