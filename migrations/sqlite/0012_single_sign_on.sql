-- Single sign-on (SPEC section 10).

-- The stable random key of an organization in its SSO addresses (/sso/{key}/...): what its
-- identity provider is configured with, so it never changes.
ALTER TABLE organizations ADD COLUMN sso_key TEXT CHECK (sso_key IS NULL OR length(sso_key) BETWEEN 16 AND 64);
UPDATE organizations SET sso_key = lower(hex(randomblob(12)));
CREATE UNIQUE INDEX organizations_sso_key ON organizations (sso_key);

-- Each organization's settings for one protocol, as JSON (the client secret included: it is
-- never sent back).
CREATE TABLE sso_settings (
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    protocol TEXT NOT NULL CHECK (protocol IN ('saml', 'oidc')),
    settings TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (organization_id, protocol)
);

-- Which organization's identity provider an email domain signs in through: one per domain.
CREATE TABLE sso_domains (
    domain TEXT PRIMARY KEY CHECK (domain = lower(domain) AND length(domain) BETWEEN 3 AND 253),
    organization_id INTEGER NOT NULL,
    protocol TEXT NOT NULL,
    FOREIGN KEY (organization_id, protocol) REFERENCES sso_settings (organization_id, protocol) ON DELETE CASCADE
);
CREATE INDEX sso_domains_settings ON sso_domains (organization_id, protocol);

-- A person as an identity provider knows them (the issuer or entity id and their subject there),
-- and the account they sign in to. Never re-keyed by email.
CREATE TABLE sso_identities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    protocol TEXT NOT NULL CHECK (protocol IN ('saml', 'oidc')),
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The address the identity provider gave the last time.
    email TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_sign_in_at INTEGER,
    UNIQUE (organization_id, issuer, subject)
);
CREATE INDEX sso_identities_user ON sso_identities (user_id);

-- Sign-ins sent to an identity provider and not yet back: found by the hash of their state (OIDC)
-- or request id (SAML), bound to the browser that started them, used once, short-lived.
CREATE TABLE sso_requests (
    id_hash BLOB PRIMARY KEY,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    protocol TEXT NOT NULL CHECK (protocol IN ('saml', 'oidc')),
    purpose TEXT NOT NULL CHECK (purpose IN ('sign_in', 'test', 'link')),
    browser_hash BLOB NOT NULL,
    nonce TEXT,
    pkce_verifier TEXT,
    -- Who started a test or a link (signed in).
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sso_requests_expiry ON sso_requests (expires_at);

-- SAML assertions already used, each accepted once (kept until it expires).
CREATE TABLE sso_assertions (
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    assertion_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (organization_id, assertion_id)
);
CREATE INDEX sso_assertions_expiry ON sso_assertions (expires_at);

-- Sessions opened by single sign-on say so.
ALTER TABLE sessions ADD COLUMN opened_by_new TEXT CHECK (opened_by_new IN ('password', 'signup', 'invitation', 'reset_link', 'sso'));
UPDATE sessions SET opened_by_new = opened_by;
ALTER TABLE sessions DROP COLUMN opened_by;
ALTER TABLE sessions RENAME COLUMN opened_by_new TO opened_by;

-- Changes made by single sign-on (and, later, by provisioning) are logged with their own actor.
ALTER TABLE audit_log ADD COLUMN actor_kind_new TEXT NOT NULL DEFAULT 'system' CHECK (actor_kind_new IN ('user', 'cli', 'system', 'sso', 'scim'));
UPDATE audit_log SET actor_kind_new = actor_kind;
ALTER TABLE audit_log DROP COLUMN actor_kind;
ALTER TABLE audit_log RENAME COLUMN actor_kind_new TO actor_kind;
