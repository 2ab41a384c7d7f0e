-- Staff accounts, their sessions and the API tokens of machine clients. Secrets are kept
-- only as digests: argon2id for passwords, SHA-256 for the random session ids and tokens.
CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    -- lower case, unique
    name           TEXT    NOT NULL UNIQUE,
    role           TEXT    NOT NULL CHECK (role IN ('admin', 'clerk')),
    -- argon2id in PHC string format
    password_hash  TEXT    NOT NULL,
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL
);

-- A clerk's departments (catalogue ids).
CREATE TABLE user_departments (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    department  TEXT    NOT NULL,
    PRIMARY KEY (user_id, department)
);

-- Server-side sessions, shared by every process on the database. The key is the SHA-256
-- of the cookie value; times are milliseconds since the epoch.
CREATE TABLE sessions (
    id_digest     TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

-- Bearer tokens for machine clients, scoped to a role and departments (JSON array).
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    digest       TEXT    NOT NULL UNIQUE,
    role         TEXT    NOT NULL CHECK (role IN ('admin', 'clerk')),
    departments  TEXT    NOT NULL DEFAULT '[]',
    created_by   TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    revoked_at   TEXT
);
