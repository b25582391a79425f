-- Two-factor sign-in and passkeys (SPEC section 12).

-- An authenticator app (TOTP, RFC 6238). The secret is kept masked with a key derived from the
-- server key and the row's nonce; it counts once a code confirmed it. `last_step` is the last
-- time step a code was accepted for: a code is accepted once.
CREATE TABLE totp_secrets (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    masked_secret BLOB NOT NULL,
    nonce BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    confirmed_at INTEGER,
    last_step INTEGER NOT NULL DEFAULT 0
);

-- Recovery codes, stored hashed; each works once.
CREATE TABLE recovery_codes (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

-- Security keys and passkeys (WebAuthn): the credential as the relying party library keeps it
-- (JSON), its id (unique everywhere), and the name its owner gave it.
CREATE TABLE passkeys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id BLOB NOT NULL UNIQUE,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    credential TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- A sign-in waiting for its second factor: the hash of the secret in the browser's cookie, how
-- the first factor was proven, and until when it may be finished (once).
CREATE TABLE pending_sign_ins (
    id_hash BLOB PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    method TEXT NOT NULL CHECK (method IN ('password', 'reset_link')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX pending_sign_ins_user ON pending_sign_ins (user_id);

-- A WebAuthn ceremony in progress: its state stays on the server, named by the hash of a secret
-- the browser holds; it works once.
CREATE TABLE webauthn_ceremonies (
    id_hash BLOB PRIMARY KEY,
    purpose TEXT NOT NULL CHECK (purpose IN ('register', 'sign_in', 'second_factor')),
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

-- The organization's policy: since when it requires a second factor (NULL: it does not), the
-- days of grace its members get, and whether members signed in through SSO are exempt.
ALTER TABLE organizations ADD COLUMN two_factor_required_since INTEGER;
ALTER TABLE organizations ADD COLUMN two_factor_grace_days INTEGER NOT NULL DEFAULT 7 CHECK (two_factor_grace_days BETWEEN 0 AND 365);
ALTER TABLE organizations ADD COLUMN two_factor_sso_exempt INTEGER NOT NULL DEFAULT 1 CHECK (two_factor_sso_exempt IN (0, 1));

-- A session may be opened by a passkey.
ALTER TABLE sessions ADD COLUMN opened_by_new TEXT CHECK (opened_by_new IN ('password', 'signup', 'invitation', 'reset_link', 'sso', 'passkey'));
UPDATE sessions SET opened_by_new = opened_by;
ALTER TABLE sessions DROP COLUMN opened_by;
ALTER TABLE sessions RENAME COLUMN opened_by_new TO opened_by;

-- The account is told when a recovery code was used and when an administrator reset its second
-- factors. SQLite cannot change a CHECK in place: the table is rebuilt with its rows.
CREATE TABLE email_outbox_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('invitation', 'password_reset', 'email_verification', 'pending_members', 'role_granted', 'account_exists', 'account_provisioned', 'recovery_code_used', 'two_factor_reset')),
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
