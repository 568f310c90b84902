-- suat schema (PostgreSQL). Same shape as the SQLite schema; tokens only as keyed hashes, secrets only sealed.
CREATE TABLE businesses (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    must_use_expiring_tokens BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE SEQUENCE user_created_seq;
CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    business_id BIGINT REFERENCES businesses(id),
    kind TEXT NOT NULL,
    session_epoch BIGINT NOT NULL DEFAULT 0,
    created_seq BIGINT NOT NULL DEFAULT nextval('user_created_seq')
);
CREATE INDEX users_business ON users(business_id);

CREATE TABLE apps (
    id BIGINT PRIMARY KEY,
    body TEXT NOT NULL,
    sealed_secret BYTEA NOT NULL
);

CREATE TABLE installs (
    user_id BIGINT NOT NULL REFERENCES users(id),
    app_id BIGINT NOT NULL REFERENCES apps(id),
    PRIMARY KEY (user_id, app_id)
);

CREATE TABLE tokens (
    hash BYTEA PRIMARY KEY,
    kind TEXT NOT NULL,
    app_id BIGINT NOT NULL,
    user_id BIGINT,
    page_id BIGINT,
    scopes TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    parent BYTEA,
    session_epoch BIGINT NOT NULL
);
CREATE INDEX tokens_user ON tokens(user_id);
CREATE INDEX tokens_parent ON tokens(parent);

CREATE TABLE audit (
    seq BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    subject BIGINT,
    app_id BIGINT,
    token_ref TEXT,
    detail TEXT NOT NULL
);
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit log is append-only';
END $$;
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO settings(key, value) VALUES ('clock_offset', 0);
CREATE SEQUENCE graph_ids START WITH 100000000000001;
