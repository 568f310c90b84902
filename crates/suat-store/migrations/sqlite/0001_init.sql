-- suat schema (SQLite). Tokens are stored only as keyed hashes; app secrets only sealed.
CREATE TABLE businesses (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    must_use_expiring_tokens INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    business_id INTEGER REFERENCES businesses(id),
    kind TEXT NOT NULL,                 -- JSON of suat_core::UserKind
    session_epoch INTEGER NOT NULL DEFAULT 0,
    created_seq INTEGER NOT NULL
);
CREATE INDEX users_business ON users(business_id);

CREATE TABLE apps (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL,                 -- JSON of suat_core::App (no secret)
    sealed_secret BLOB NOT NULL
);

CREATE TABLE installs (
    user_id INTEGER NOT NULL REFERENCES users(id),
    app_id INTEGER NOT NULL REFERENCES apps(id),
    PRIMARY KEY (user_id, app_id)
);

CREATE TABLE tokens (
    hash BLOB PRIMARY KEY,
    kind TEXT NOT NULL,
    app_id INTEGER NOT NULL,
    user_id INTEGER,
    page_id INTEGER,
    scopes TEXT NOT NULL,               -- JSON list
    issued_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER,
    parent BLOB,
    session_epoch INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tokens_user ON tokens(user_id);
CREATE INDEX tokens_parent ON tokens(parent);

CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    subject INTEGER,
    app_id INTEGER,
    token_ref TEXT,
    detail TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO settings(key, value) VALUES ('clock_offset', 0), ('next_id', 100000000000001);
