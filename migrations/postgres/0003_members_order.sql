-- The members table is listed in joining order, a page at a time: read it in index order.
CREATE INDEX memberships_organization_joined ON memberships (organization_id, created_at, user_id);
