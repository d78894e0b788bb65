-- Tenants: client institutions; each owns one namespace rooted at root_id.
CREATE TABLE tenants (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

-- Accounts log in; names are unique across tenants because SSH carries only the user name.
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name          TEXT    NOT NULL UNIQUE,
    access        TEXT    NOT NULL CHECK (access IN ('full', 'read-only', 'upload-only')),
    password_hash TEXT,
    locked        INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

-- OpenSSH public keys an account may log in with.
CREATE TABLE account_keys (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    algorithm   TEXT    NOT NULL,
    public_key  TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    comment     TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    UNIQUE (account_id, fingerprint)
);

-- The namespace: one row per directory or file. The tenant's root has parent_id NULL.
-- Names are raw bytes (BLOB) so that non-UTF-8 names round-trip exactly.
CREATE TABLE nodes (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    parent_id  INTEGER REFERENCES nodes(id),
    name       BLOB    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('dir', 'file')),
    size       INTEGER NOT NULL DEFAULT 0,
    mode       INTEGER NOT NULL,
    mtime      INTEGER NOT NULL,
    atime      INTEGER NOT NULL,
    blob_id    TEXT,
    UNIQUE (parent_id, name)
);
CREATE UNIQUE INDEX nodes_one_root ON nodes (tenant_id) WHERE parent_id IS NULL;
CREATE INDEX nodes_blob ON nodes (blob_id) WHERE blob_id IS NOT NULL;
