-- A session records how it was opened (the credential that proved who signed in), shown on the
-- Account page. Sessions opened before this record have none.
ALTER TABLE sessions ADD COLUMN opened_by TEXT CHECK (opened_by IN ('password', 'signup', 'invitation', 'reset_link'));
