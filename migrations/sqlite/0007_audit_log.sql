-- The audit log (SPEC section 9): one hash chain of entries per organization. Entries are only
-- ever inserted; retention deletes the oldest and keeps the hash of the last one it deleted.

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- The entry's place in its organization's chain: 1, 2, 3 … with no gaps.
    seq INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('user', 'cli', 'system')),
    -- The acting user and their email at that moment (no reference: the log outlives rows).
    actor_user_id INTEGER,
    actor_email TEXT NOT NULL,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('user', 'invitation', 'organization')),
    target_id INTEGER,
    -- The target's email or title at that moment.
    target_label TEXT NOT NULL,
    details TEXT NOT NULL,
    client_address TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    -- SHA-256 of prev_hash and the entry's canonical content.
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL,
    UNIQUE (organization_id, seq)
);
CREATE INDEX audit_log_organization_time ON audit_log (organization_id, created_at);

-- Each organization's chain: its last entry (so that deleting the newest entries is caught too),
-- and the last entry retention pruned (where verification starts).
CREATE TABLE audit_chains (
    organization_id INTEGER PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    head_seq INTEGER NOT NULL,
    head_hash BLOB NOT NULL,
    anchor_seq INTEGER NOT NULL DEFAULT 0,
    anchor_hash BLOB,
    pruned_at INTEGER
);
