-- A session ends after a while without a request, as well as at a fixed age (expires_at).
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET last_seen_at = created_at;

-- Attempts counted against the abuse limits: failed logins per email and per client address,
-- signups per client address, invitations per organization. One row per attempt, weighted, read
-- over a sliding window, pruned once older than every window. Shared by every instance.
CREATE TABLE throttle_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket TEXT NOT NULL,
    subject TEXT NOT NULL,
    weight INTEGER NOT NULL DEFAULT 1 CHECK (weight > 0),
    at INTEGER NOT NULL
);
CREATE INDEX throttle_events_subject ON throttle_events (bucket, subject, at);
CREATE INDEX throttle_events_at ON throttle_events (at);
