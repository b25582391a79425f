-- The account lifecycle: verified addresses, sessions a user can recognise, one-time secrets sent
-- by mail, and messages that are not invitations.

-- When the address was proven (an email invitation, or the verification link). Accounts made
-- before verification existed are taken as verified: they had no way to prove it.
ALTER TABLE users ADD COLUMN email_verified_at INTEGER;
UPDATE users SET email_verified_at = created_at;

-- What the Account page shows of each session.
ALTER TABLE sessions ADD COLUMN client_address TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';

-- One-time secrets sent by mail: password resets (ghr_) and email verifications (ghv_). The secret
-- is derived from the server key and the salt, so the message is rendered at delivery and the
-- database holds only its hash.
CREATE TABLE account_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('password_reset', 'email_verification')),
    token_hash BLOB NOT NULL UNIQUE,
    salt BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);

-- The outbox carries every kind of message: each names what it is about (an invitation, an
-- account token, a user, an organization). SQLite cannot relax NOT NULL in place: the table is
-- rebuilt with its rows.
CREATE TABLE email_outbox_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('invitation', 'password_reset', 'email_verification', 'pending_members', 'role_granted')),
    invitation_id INTEGER REFERENCES invitations (id) ON DELETE CASCADE,
    account_token_id INTEGER REFERENCES account_tokens (id) ON DELETE CASCADE,
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    organization_id INTEGER REFERENCES organizations (id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    origin TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    sent_at INTEGER,
    last_error TEXT,
    CHECK ((kind = 'invitation') = (invitation_id IS NOT NULL))
);
INSERT INTO email_outbox_new (id, kind, invitation_id, recipient, origin, created_at, attempts, next_attempt_at, sent_at, last_error)
    SELECT id, kind, invitation_id, recipient, origin, created_at, attempts, next_attempt_at, sent_at, last_error FROM email_outbox;
DROP TABLE email_outbox;
ALTER TABLE email_outbox_new RENAME TO email_outbox;
CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX email_outbox_organization_kind ON email_outbox (organization_id, kind, created_at);
