-- A sign-in that accepts an invitation and must give its second factor first accepts it only
-- once that factor is given: the pending sign-in keeps the invite token's kind and hash.
ALTER TABLE pending_sign_ins ADD COLUMN invite_kind TEXT CHECK (invite_kind IN ('link', 'invitation'));
ALTER TABLE pending_sign_ins ADD COLUMN invite_hash BLOB
    CHECK ((invite_kind IS NULL) = (invite_hash IS NULL));
