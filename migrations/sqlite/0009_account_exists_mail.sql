-- A signup with an address that already has an account is answered as any other, and the address
-- is mailed that it has one (to sign in, or reset the password). SQLite cannot change a CHECK in
-- place: the table is rebuilt with its rows.
CREATE TABLE email_outbox_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('invitation', 'password_reset', 'email_verification', 'pending_members', 'role_granted', 'account_exists')),
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
INSERT INTO email_outbox_new (id, kind, invitation_id, account_token_id, user_id, organization_id, recipient, origin, created_at, attempts, next_attempt_at, sent_at, last_error)
    SELECT id, kind, invitation_id, account_token_id, user_id, organization_id, recipient, origin, created_at, attempts, next_attempt_at, sent_at, last_error FROM email_outbox;
DROP TABLE email_outbox;
ALTER TABLE email_outbox_new RENAME TO email_outbox;
CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX email_outbox_organization_kind ON email_outbox (organization_id, kind, created_at);
