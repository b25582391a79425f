-- A signup with an address that already has an account is answered as any other, and the address
-- is mailed that it has one (to sign in, or reset the password).
ALTER TABLE email_outbox DROP CONSTRAINT email_outbox_kind;
ALTER TABLE email_outbox ADD CONSTRAINT email_outbox_kind
    CHECK (kind IN ('invitation', 'password_reset', 'email_verification', 'pending_members', 'role_granted', 'account_exists'));
