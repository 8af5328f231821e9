-- marsad store, schema version 11: accounts of the web UI's users and
-- their sessions. Times are microseconds UTC.

-- A user signs in with a name and a password, stored only as an argon2id
-- hash in PHC form. A disabled user cannot sign in; the row is kept, so
-- that the audit log's names stay theirs.
CREATE TABLE users (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    name                TEXT NOT NULL UNIQUE,
    role                TEXT NOT NULL CHECK (role IN ('viewer', 'analyst', 'moderator', 'admin')),
    password_hash       TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL,
    disabled_at         INTEGER
);

-- A signed-in browser: the SHA-256 of its session cookie (never the
-- cookie) and the CSRF token its forms carry. A session ends when it
-- expires, at sign-out, or when its user's password changes or the user
-- is disabled (its rows are deleted).
CREATE TABLE sessions (
    hash       BLOB PRIMARY KEY CHECK (length(hash) = 32),
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);
