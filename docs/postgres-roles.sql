-- PostgreSQL roles for suat (README "PostgreSQL roles"): an owner role that runs the migrations, and the role
-- `suat serve` connects as, which may read and write every table but may only add to the audit log (INSERT and
-- SELECT on `audit`: no UPDATE, DELETE or TRUNCATE, and not the owner, so it cannot drop the append-only triggers
-- or grant itself more). `crates/suat-server/tests/pg_roles.rs` runs this very file (with its own names).
--
-- Change the passwords (or use another authentication method in pg_hba.conf). The names suat_owner, suat_server
-- and suat_data are only examples.

-- 1. Once, as a superuser (or a role with CREATEROLE and CREATE on the database), connected to suat's database:
CREATE ROLE suat_owner LOGIN PASSWORD 'change-me-owner';
CREATE ROLE suat_server LOGIN PASSWORD 'change-me-server';
CREATE SCHEMA suat_data AUTHORIZATION suat_owner;
ALTER ROLE suat_owner SET search_path = suat_data;
ALTER ROLE suat_server SET search_path = suat_data;

-- 2. As suat_owner, run the migrations: start `suat serve --database-url postgres://suat_owner@HOST/DB` once (it
--    migrates at start-up) and stop it. Do the same after every upgrade of suat, before the servers are upgraded: a
--    server running as suat_server starts only on a database whose migrations are all applied (it then migrates
--    nothing and needs no CREATE privilege); otherwise it stops with a message saying so.

-- 3. As suat_owner, after step 2 (and again after every upgrade that adds a migration, for its new tables):
GRANT USAGE ON SCHEMA suat_data TO suat_server;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA suat_data TO suat_server;
-- The audit log: append and read only.
REVOKE UPDATE, DELETE, TRUNCATE ON suat_data.audit FROM suat_server;
-- The migrations' record: read only (the server checks that every migration is applied).
REVOKE INSERT, UPDATE, DELETE ON suat_data._sqlx_migrations FROM suat_server;
-- Graph ids, users' creation order and audit seqs come from sequences (a restore sets them: UPDATE).
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA suat_data TO suat_server;

-- 4. Check it: `suat audit verify --database-url postgres://suat_server@HOST/DB` answers
--    "ok: role suat_server may only add to audit ..." (and fails, naming what is too much, for a role that may
--    rewrite the log, such as suat_owner).
