-- pgbench: what a revocation runs on PostgreSQL (the token marked revoked, its audit entry, the NOTIFY to the other
-- replicas), one transaction each, on tokens seeded as md5(n) || md5(n).
\set n random(1, 200000)
BEGIN;
UPDATE tokens SET revoked_at = 1700000001 WHERE hash = decode(md5(:n::text) || md5(:n::text), 'hex') AND revoked_at IS NULL;
INSERT INTO audit (at, action, actor, subject, app_id, token_ref, detail)
  VALUES (1700000001, 'revoke', 'app:1', 2, 1, 'abcdef0123456789', 'null');
SELECT pg_notify('suat_probe', 't:' || md5(:n::text) || md5(:n::text));
END;
