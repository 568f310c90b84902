-- Relations as tables with foreign keys, and the kind of a user and the fields of an app as columns, instead of JSON
-- blobs: a targeted app write (a role, a share, a secret) is then one statement on its own row, and the database
-- itself refuses a role or a share naming an unknown app, user or business.

-- App roles and shares, from the JSON body, before it goes; `pos` keeps the order `App` lists them in.
CREATE TABLE app_roles (
    app_id BIGINT NOT NULL REFERENCES apps(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'developer', 'tester')),
    pos BIGINT NOT NULL,
    PRIMARY KEY (app_id, user_id)
);
CREATE INDEX app_roles_user ON app_roles(user_id);
INSERT INTO app_roles (app_id, user_id, role, pos)
SELECT a.id, (r.value ->> 0)::bigint, r.value ->> 1, r.ord - 1
FROM apps a, jsonb_array_elements(COALESCE(a.body::jsonb -> 'roles', '[]'::jsonb)) WITH ORDINALITY AS r(value, ord);

CREATE TABLE app_clients (
    app_id BIGINT NOT NULL REFERENCES apps(id),
    business_id BIGINT NOT NULL REFERENCES businesses(id),
    pos BIGINT NOT NULL,
    PRIMARY KEY (app_id, business_id)
);
CREATE INDEX app_clients_business ON app_clients(business_id);
INSERT INTO app_clients (app_id, business_id, pos)
SELECT a.id, (c.value #>> '{}')::bigint, c.ord - 1
FROM apps a, jsonb_array_elements(COALESCE(a.body::jsonb -> 'client_businesses', '[]'::jsonb)) WITH ORDINALITY AS c(value, ord);

ALTER TABLE apps
    ADD COLUMN name TEXT,
    ADD COLUMN owner_business BIGINT,
    ADD COLUMN access_level TEXT,
    ADD COLUMN is_test_app BOOLEAN,
    ADD COLUMN require_app_secret BOOLEAN,
    ADD COLUMN permissions TEXT,        -- JSON list
    ADD COLUMN capabilities TEXT,       -- JSON list
    ADD COLUMN created_at BIGINT,
    ADD COLUMN redirect_uris TEXT;      -- JSON list
UPDATE apps SET
    name = body::jsonb ->> 'name',
    owner_business = (body::jsonb ->> 'owner_business')::bigint,
    access_level = body::jsonb ->> 'access_level',
    is_test_app = (body::jsonb ->> 'is_test_app')::boolean,
    require_app_secret = (body::jsonb ->> 'require_app_secret')::boolean,
    permissions = (body::jsonb -> 'permissions')::text,
    capabilities = (body::jsonb -> 'capabilities')::text,
    created_at = (body::jsonb ->> 'created_at')::bigint,
    redirect_uris = COALESCE(body::jsonb -> 'redirect_uris', '[]'::jsonb)::text;
ALTER TABLE apps
    ALTER COLUMN name SET NOT NULL,
    ALTER COLUMN access_level SET NOT NULL,
    ALTER COLUMN is_test_app SET NOT NULL,
    ALTER COLUMN require_app_secret SET NOT NULL,
    ALTER COLUMN permissions SET NOT NULL,
    ALTER COLUMN capabilities SET NOT NULL,
    ALTER COLUMN created_at SET NOT NULL,
    ALTER COLUMN redirect_uris SET NOT NULL,
    ADD CONSTRAINT apps_access_level CHECK (access_level IN ('development', 'standard', 'advanced')),
    DROP COLUMN body;

-- A person has `admin`, a system user `role` (SystemUserRole); `created_seq` is kept (system users list by it).
ALTER TABLE users RENAME COLUMN kind TO kind_json;
ALTER TABLE users ADD COLUMN kind TEXT, ADD COLUMN admin BOOLEAN, ADD COLUMN role TEXT;
UPDATE users SET
    kind = kind_json::jsonb ->> 'type',
    admin = (kind_json::jsonb ->> 'admin')::boolean,
    role = kind_json::jsonb ->> 'role';
ALTER TABLE users
    ALTER COLUMN kind SET NOT NULL,
    DROP COLUMN kind_json,
    ADD CONSTRAINT users_kind CHECK (kind IN ('person', 'system_user')),
    ADD CONSTRAINT users_role CHECK (role IN ('ADMIN', 'EMPLOYEE')),
    ADD CONSTRAINT users_kind_fields
        CHECK ((kind = 'person') = (admin IS NOT NULL) AND (kind = 'system_user') = (role IS NOT NULL));
DROP INDEX users_business;
CREATE INDEX users_business ON users(business_id, created_seq);
