-- SCIM 2.0 provisioning (SPEC section 11).

-- The organization's SCIM tokens: the identity provider's bearer credential, stored only as its
-- hash; at most one live per organization.
CREATE TABLE scim_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE UNIQUE INDEX scim_tokens_one_live ON scim_tokens (organization_id) WHERE revoked_at IS NULL;

-- SCIM's own group -> role mappings (a JSON list of [role, group]), kept apart from SSO's.
CREATE TABLE scim_settings (
    organization_id INTEGER PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    roles_groups TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Members the identity provider manages: their userName (their address, lower-cased, unless the
-- provider names them otherwise), their external id, the SCIM attributes gatehouse keeps for the
-- provider without using them (JSON), and the role they had when it deactivated them. Removing
-- the membership removes this too.
CREATE TABLE scim_users (
    user_id INTEGER PRIMARY KEY REFERENCES memberships (user_id) ON DELETE CASCADE,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_name TEXT NOT NULL CHECK (user_name = lower(user_name) AND length(user_name) BETWEEN 1 AND 256),
    external_id TEXT CHECK (external_id IS NULL OR length(external_id) BETWEEN 1 AND 256),
    attributes TEXT NOT NULL DEFAULT '{}',
    role_before_deactivation TEXT CHECK (role_before_deactivation IN ('ADMINISTRATOR', 'MANAGER', 'REVIEWER', 'ANNOTATOR', 'NOT_ACTIVATED')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX scim_users_external_id ON scim_users (organization_id, external_id) WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX scim_users_user_name ON scim_users (user_name, organization_id);

-- The identity provider's groups, whose members' roles follow the mappings.
CREATE TABLE scim_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    display_name TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 256),
    external_id TEXT CHECK (external_id IS NULL OR length(external_id) BETWEEN 1 AND 256),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (organization_id, display_name)
);

CREATE TABLE scim_group_members (
    group_id INTEGER NOT NULL REFERENCES scim_groups (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES memberships (user_id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX scim_group_members_user ON scim_group_members (user_id);

-- A provisioned account is mailed a link to set its password. SQLite cannot change a CHECK in
-- place: the table is rebuilt with its rows.
CREATE TABLE email_outbox_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('invitation', 'password_reset', 'email_verification', 'pending_members', 'role_granted', 'account_exists', 'account_provisioned')),
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
