-- Pages and page roles, authorization codes, app-scoped system-user ids.
CREATE TABLE pages (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    business_id INTEGER NOT NULL REFERENCES businesses(id)
);
CREATE INDEX pages_business ON pages(business_id);

CREATE TABLE page_roles (
    page_id INTEGER NOT NULL REFERENCES pages(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    tasks TEXT NOT NULL,                -- JSON list of PageTask
    PRIMARY KEY (page_id, user_id)
);
CREATE INDEX page_roles_user ON page_roles(user_id);

CREATE TABLE auth_codes (
    hash BLOB PRIMARY KEY,
    app_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    redirect_uri TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used_at INTEGER
) WITHOUT ROWID;

CREATE TABLE app_scoped_ids (
    id INTEGER PRIMARY KEY,
    app_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id),
    UNIQUE (app_id, user_id)
);
