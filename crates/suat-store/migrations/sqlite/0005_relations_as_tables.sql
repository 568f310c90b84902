-- Relations as tables with foreign keys, and the kind of a user and the fields of an app as columns, instead of JSON
-- blobs: a targeted app write (a role, a share, a secret) is then one statement on its own row, and the database
-- itself refuses a role or a share naming an unknown app, user or business.
-- SQLite cannot alter a column in place, so `users` and `apps` are rebuilt (create, copy, drop, rename). That needs
-- foreign keys off, so `SqliteStore::open` runs migrations on a connection without them; the last statements fail
-- this migration (rolling all of it back) if any foreign key is violated afterwards.

-- App roles and shares, from the JSON body, before it goes; `pos` keeps the order `App` lists them in.
CREATE TABLE app_roles (
    app_id INTEGER NOT NULL REFERENCES apps(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'developer', 'tester')),
    pos INTEGER NOT NULL,
    PRIMARY KEY (app_id, user_id)
);
CREATE INDEX app_roles_user ON app_roles(user_id);
INSERT INTO app_roles (app_id, user_id, role, pos)
SELECT a.id, CAST(json_extract(r.value, '$[0]') AS INTEGER), json_extract(r.value, '$[1]'), r.key
FROM apps a, json_each(a.body, '$.roles') r;

CREATE TABLE app_clients (
    app_id INTEGER NOT NULL REFERENCES apps(id),
    business_id INTEGER NOT NULL REFERENCES businesses(id),
    pos INTEGER NOT NULL,
    PRIMARY KEY (app_id, business_id)
);
CREATE INDEX app_clients_business ON app_clients(business_id);
INSERT INTO app_clients (app_id, business_id, pos)
SELECT a.id, CAST(c.value AS INTEGER), c.key
FROM apps a, json_each(a.body, '$.client_businesses') c;

CREATE TABLE apps_new (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    owner_business INTEGER,
    access_level TEXT NOT NULL CHECK (access_level IN ('development', 'standard', 'advanced')),
    is_test_app INTEGER NOT NULL,
    require_app_secret INTEGER NOT NULL,
    permissions TEXT NOT NULL,          -- JSON list
    capabilities TEXT NOT NULL,         -- JSON list
    created_at INTEGER NOT NULL,
    redirect_uris TEXT NOT NULL,        -- JSON list
    sealed_secret BLOB NOT NULL
);
INSERT INTO apps_new (id, name, owner_business, access_level, is_test_app, require_app_secret, permissions,
                      capabilities, created_at, redirect_uris, sealed_secret)
SELECT id, json_extract(body, '$.name'), CAST(json_extract(body, '$.owner_business') AS INTEGER),
       json_extract(body, '$.access_level'), json_extract(body, '$.is_test_app'),
       json_extract(body, '$.require_app_secret'), json_extract(body, '$.permissions'),
       json_extract(body, '$.capabilities'), json_extract(body, '$.created_at'),
       COALESCE(json_extract(body, '$.redirect_uris'), '[]'), sealed_secret
FROM apps;
DROP TABLE apps;
ALTER TABLE apps_new RENAME TO apps;

-- A person has `admin`, a system user `role` (SystemUserRole); `created_seq` is kept (system users list by it).
CREATE TABLE users_new (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    business_id INTEGER REFERENCES businesses(id),
    kind TEXT NOT NULL CHECK (kind IN ('person', 'system_user')),
    admin INTEGER CHECK (admin IN (0, 1)),
    role TEXT CHECK (role IN ('ADMIN', 'EMPLOYEE')),
    session_epoch INTEGER NOT NULL DEFAULT 0,
    created_seq INTEGER NOT NULL,
    CHECK ((kind = 'person') = (admin IS NOT NULL) AND (kind = 'system_user') = (role IS NOT NULL))
);
INSERT INTO users_new (id, name, business_id, kind, admin, role, session_epoch, created_seq)
SELECT id, name, business_id, json_extract(kind, '$.type'), json_extract(kind, '$.admin'),
       json_extract(kind, '$.role'), session_epoch, created_seq
FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE INDEX users_business ON users(business_id, created_seq);

CREATE TEMP TABLE foreign_keys_hold (violations INTEGER CHECK (violations = 0));
INSERT INTO foreign_keys_hold SELECT COUNT(*) FROM pragma_foreign_key_check;
DROP TABLE temp.foreign_keys_hold;
