-- pgbench: the rows an issuance or a refresh writes on PostgreSQL (a token and its audit entry), one transaction each.
BEGIN;
INSERT INTO tokens (hash, kind, app_id, user_id, page_id, scopes, issued_at, expires_at, revoked_at, parent, session_epoch)
  VALUES (decode(md5(random()::text) || md5(random()::text), 'hex'), 'SYSTEM_USER', 1, 2, NULL,
          '["ads_read","ads_management"]', 1700000000, NULL, NULL, NULL, 0);
INSERT INTO audit (at, action, actor, subject, app_id, token_ref, detail)
  VALUES (1700000000, 'issue', 'app:1', 2, 1, 'abcdef0123456789', '{"scopes":["ads_read","ads_management"]}');
END;
