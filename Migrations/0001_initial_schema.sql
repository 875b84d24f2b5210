-- pbauth's first schema: accounts, sessions, settings and the audit log.
-- Secrets are never stored in the clear: passwords only as scrypt PHC strings,
-- cookies and broker tokens not at all (they are derived from the session id or
-- a per-principal salt with the server key, kept in a separate file), and the
-- optional PB password verifier only sealed with a key derived from it.

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'broker')),
    -- scrypt PHC string ($scrypt$ln=..,r=..,p=..$salt$hash); users only.
    password_hash TEXT,
    -- AES-GCM sealed md5(password), kept only while pb_password_login is on.
    sealed_pb_verifier BLOB,
    -- 16 random bytes from which the broker token is derived with the server key.
    token_salt BLOB,
    disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created INTEGER NOT NULL,
    last_login INTEGER,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    CHECK ((kind = 'user' AND password_hash IS NOT NULL AND token_salt IS NULL)
        OR (kind = 'broker' AND token_salt IS NOT NULL AND password_hash IS NULL))
);

CREATE TABLE sessions (
    -- 16 random bytes as hex; not a secret (the cookie is derived from it with the server key).
    id TEXT PRIMARY KEY NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
    -- The broker principals the login passed through, nearest the user first,
    -- joined by U+001F (names cannot contain control characters).
    broker_path TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT ''
);

-- The one indexed read of a cookie login: the live sessions of one account.
CREATE INDEX sessions_live_by_account ON sessions (account_id, expires) WHERE revoked = 0;

CREATE TABLE settings (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    account TEXT,
    outcome TEXT NOT NULL,
    reason TEXT,
    broker_path TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT ''
);

CREATE TRIGGER audit_log_is_append_only_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_is_append_only_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
