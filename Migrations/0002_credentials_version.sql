-- A counter that every admin change to an account's credentials or standing moves on:
-- a new password, disabling or enabling, revoking all its sessions. A password check,
-- which runs scrypt outside any transaction, starts a session only if the counter is
-- still the one it read before hashing: no session is created after such a change
-- has committed (protocol.md section 4.6).
ALTER TABLE accounts ADD COLUMN credentials_version INTEGER NOT NULL DEFAULT 0;
