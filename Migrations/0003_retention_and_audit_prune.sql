-- Retention (issue 13): when a session was revoked, so that it is deleted
-- session_retention after it ended; indexes for deleting ended sessions in small
-- batches; and `pbauth audit prune`, the only way rows leave the audit log.

ALTER TABLE sessions ADD COLUMN revoked_at INTEGER;

-- Set by the database itself, so that every way of revoking (one session, all of an
-- account's) records the time without each statement having to.
CREATE TRIGGER sessions_record_revocation AFTER UPDATE OF revoked ON sessions
WHEN NEW.revoked = 1 AND OLD.revoked = 0 AND NEW.revoked_at IS NULL
BEGIN
    UPDATE sessions SET revoked_at = CAST(strftime('%s', 'now') AS INTEGER) WHERE id = NEW.id;
END;

CREATE INDEX sessions_by_expiry ON sessions (expires);
CREATE INDEX sessions_revoked_by_time ON sessions (revoked_at) WHERE revoked = 1;

-- The audit log stays append-only, except for rows older than the cutoff that a prune
-- writes into settings ('audit_prune_before', Unix seconds) and removes again in the
-- same transaction.
DROP TRIGGER audit_log_is_append_only_delete;

CREATE TRIGGER audit_log_is_append_only_delete BEFORE DELETE ON audit_log
WHEN OLD.time >= coalesce((SELECT CAST(value AS INTEGER) FROM settings WHERE name = 'audit_prune_before'), -9223372036854775808)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only (old entries go only through pbauth audit prune)');
END;

CREATE INDEX audit_log_by_time ON audit_log (time);
