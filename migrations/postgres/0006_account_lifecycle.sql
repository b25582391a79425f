-- The account lifecycle: verified addresses, sessions a user can recognise, one-time secrets sent
-- by mail, and messages that are not invitations.

-- When the address was proven (an email invitation, or the verification link). Accounts made
-- before verification existed are taken as verified: they had no way to prove it.
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
UPDATE users SET email_verified_at = created_at;

-- What the Account page shows of each session.
ALTER TABLE sessions ADD COLUMN client_address TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';

-- One-time secrets sent by mail: password resets (ghr_) and email verifications (ghv_). The secret
-- is derived from the server key and the salt, so the message is rendered at delivery and the
-- database holds only its hash.
CREATE TABLE account_tokens (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('password_reset', 'email_verification')),
    token_hash BYTEA NOT NULL UNIQUE,
    salt BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);

-- The outbox carries every kind of message: each names what it is about (an invitation, an
-- account token, a user, an organization).
ALTER TABLE email_outbox ALTER COLUMN invitation_id DROP NOT NULL;
ALTER TABLE email_outbox ADD COLUMN account_token_id BIGINT REFERENCES account_tokens (id) ON DELETE CASCADE;
ALTER TABLE email_outbox ADD COLUMN user_id BIGINT REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE email_outbox ADD COLUMN organization_id BIGINT REFERENCES organizations (id) ON DELETE CASCADE;
ALTER TABLE email_outbox DROP CONSTRAINT email_outbox_kind;
ALTER TABLE email_outbox ADD CONSTRAINT email_outbox_kind
    CHECK (kind IN ('invitation', 'password_reset', 'email_verification', 'pending_members', 'role_granted'));
ALTER TABLE email_outbox ADD CONSTRAINT email_outbox_invitation_kind
    CHECK ((kind = 'invitation') = (invitation_id IS NOT NULL));
CREATE INDEX email_outbox_organization_kind ON email_outbox (organization_id, kind, created_at);
