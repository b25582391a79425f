-- What each queued message is, so the worker knows how to render it at delivery. Messages queued
-- before this were all invitations. The row still holds no secret.
ALTER TABLE email_outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'invitation'
    CONSTRAINT email_outbox_kind CHECK (kind IN ('invitation'));
