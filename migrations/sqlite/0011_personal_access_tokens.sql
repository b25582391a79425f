-- Personal access tokens (SPEC section 13): JWT refresh tokens, stored only as their id (jti)
-- and the SHA-256 hash of the whole token. A token is live until it expires, is rotated away or
-- is revoked (revoked_at); a user holds at most one that has not been revoked.
CREATE TABLE personal_access_tokens (
    jti TEXT PRIMARY KEY CHECK (length(jti) BETWEEN 16 AND 64),
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL CHECK (expires_at > created_at),
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE UNIQUE INDEX personal_access_tokens_one_live_per_user ON personal_access_tokens (user_id) WHERE revoked_at IS NULL;

-- The organization's token settings (GET/POST /api/jwt/settings): whether the legacy
-- "Authorization: Token" works, whether personal access tokens may be made and refreshed, and
-- how many days a new one lives.
ALTER TABLE organizations ADD COLUMN legacy_api_tokens_enabled INTEGER NOT NULL DEFAULT 1 CHECK (legacy_api_tokens_enabled IN (0, 1));
ALTER TABLE organizations ADD COLUMN api_tokens_enabled INTEGER NOT NULL DEFAULT 1 CHECK (api_tokens_enabled IN (0, 1));
ALTER TABLE organizations ADD COLUMN api_token_ttl_days INTEGER NOT NULL DEFAULT 73000 CHECK (api_token_ttl_days BETWEEN 1 AND 73000);

-- The organization's session policy (GET/PATCH /api/session-policy/), in minutes; NULL follows the
-- server's settings, which are also the upper limits.
ALTER TABLE organizations ADD COLUMN max_session_age INTEGER CHECK (max_session_age IS NULL OR max_session_age > 0);
ALTER TABLE organizations ADD COLUMN max_time_between_activity INTEGER CHECK (max_time_between_activity IS NULL OR max_time_between_activity > 0);

-- The request an audit entry was made by (its method and path; empty for the command line and
-- for entries made before this was recorded).
ALTER TABLE audit_log ADD COLUMN request_method TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN request_path TEXT NOT NULL DEFAULT '';
