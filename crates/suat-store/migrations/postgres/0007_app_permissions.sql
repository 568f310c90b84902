-- A person's answers to an app's permission requests on the consent page (GET /me/permissions), and when they last
-- removed the app altogether (DELETE /me/permissions): their tokens of that app issued until then fail with 190/458.
-- `pos` keeps the order the permissions were first asked in.
CREATE TABLE app_permissions (
    user_id BIGINT NOT NULL REFERENCES users(id),
    app_id BIGINT NOT NULL REFERENCES apps(id),
    permission TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('granted', 'declined')),
    pos BIGINT NOT NULL,
    PRIMARY KEY (user_id, app_id, permission)
);

CREATE TABLE app_deauthorizations (
    user_id BIGINT NOT NULL REFERENCES users(id),
    app_id BIGINT NOT NULL REFERENCES apps(id),
    at BIGINT NOT NULL,
    PRIMARY KEY (user_id, app_id)
);
