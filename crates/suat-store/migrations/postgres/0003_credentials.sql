-- Sign-in credentials of people for the OAuth consent page: PHC-format password hashes (argon2id), never passwords.
CREATE TABLE credentials (
    user_id BIGINT PRIMARY KEY REFERENCES users(id),
    password_hash TEXT NOT NULL
);
