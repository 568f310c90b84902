-- The user's session epoch at consent: a password change since then voids the code.
ALTER TABLE auth_codes ADD COLUMN session_epoch BIGINT NOT NULL DEFAULT 0;
