-- The audit table gets the chain columns of the SQLite backend, so both run one INSERT statement. PostgreSQL leaves
-- them NULL: chaining rows across replicas would need one lock that serialises every audited write (every write) of
-- every replica, so on PostgreSQL the log is protected by privileges instead: the server's role may only INSERT and
-- SELECT on `audit` (docs/postgres-roles.sql; README "PostgreSQL roles").
ALTER TABLE audit ADD COLUMN prev TEXT;
ALTER TABLE audit ADD COLUMN hash TEXT;
