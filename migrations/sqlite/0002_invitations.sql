-- The organization's invite link: derived from the server key and this salt, found by its hash.
ALTER TABLE organizations ADD COLUMN invite_salt BLOB;
ALTER TABLE organizations ADD COLUMN invite_token_hash BLOB;
CREATE UNIQUE INDEX organizations_invite_token_hash ON organizations (invite_token_hash);

-- Email invitations. Open = neither accepted nor revoked; at most one open per address.
CREATE TABLE invitations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email TEXT NOT NULL CHECK (email = lower(email)),
    role TEXT NOT NULL CHECK (role IN ('ADMINISTRATOR', 'MANAGER', 'REVIEWER', 'ANNOTATOR')),
    token_hash BLOB NOT NULL UNIQUE,
    salt BLOB NOT NULL,
    invited_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    accepted_at INTEGER,
    revoked_at INTEGER
);
CREATE UNIQUE INDEX invitations_one_open_per_address
    ON invitations (organization_id, email) WHERE accepted_at IS NULL AND revoked_at IS NULL;

-- Messages to deliver, written in the same transaction as their invitation. The message is
-- rendered at delivery time, so no secret is stored here.
CREATE TABLE email_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    invitation_id INTEGER NOT NULL REFERENCES invitations (id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    origin TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    sent_at INTEGER,
    last_error TEXT
);
CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at) WHERE sent_at IS NULL;
