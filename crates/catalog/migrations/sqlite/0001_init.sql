-- Tenants: client institutions; each owns one namespace (its root node) and one tenant key.
-- Retention: files expire retention_days after upload and/or retention_after_download_hours
-- after their first complete download (NULL: that rule is off). Quotas: NULL is unlimited.
CREATE TABLE tenants (
    id                             INTEGER PRIMARY KEY,
    name                           TEXT    NOT NULL UNIQUE,
    created_at                     INTEGER NOT NULL,
    retention_days                 INTEGER,
    retention_after_download_hours INTEGER,
    quota_bytes                    INTEGER,
    quota_files                    INTEGER
);

-- The tenant key, wrapped by the master key named by master_key_id. Destroying this row
-- destroys every file key and name key of the tenant (crypto-shredding).
CREATE TABLE tenant_keys (
    tenant_id     INTEGER PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    master_key_id BLOB    NOT NULL,
    wrapped       BLOB    NOT NULL,
    created_at    INTEGER NOT NULL
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
-- Names are never stored in clear: name_mac is HMAC-SHA256 of the name under the tenant's name
-- key (lookups and uniqueness), sealed_name its AES-256-GCM encryption (listings).
-- A sealed file's data key is stored wrapped by the tenant key (key_version); content_root
-- commits to its chunks. created_at is when the upload committed (the retention clock).
CREATE TABLE nodes (
    id                INTEGER PRIMARY KEY,
    tenant_id         INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    parent_id         INTEGER REFERENCES nodes(id) ON DELETE CASCADE,
    name_mac          BLOB    NOT NULL,
    sealed_name       BLOB    NOT NULL,
    kind              TEXT    NOT NULL CHECK (kind IN ('dir', 'file')),
    size              INTEGER NOT NULL DEFAULT 0,
    mode              INTEGER NOT NULL,
    mtime             INTEGER NOT NULL,
    atime             INTEGER NOT NULL,
    blob_id           TEXT,
    key_id            BLOB,
    wrapped_key       BLOB,
    key_version       INTEGER,
    content_root      BLOB,
    created_at        INTEGER NOT NULL,
    first_download_at INTEGER,
    UNIQUE (parent_id, name_mac)
);

-- Retention for a folder and everything below it, overriding the tenant's.
CREATE TABLE folder_retention (
    dir_id                INTEGER PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,
    after_upload_days     INTEGER,
    after_download_hours  INTEGER
);
CREATE UNIQUE INDEX nodes_one_root ON nodes (tenant_id) WHERE parent_id IS NULL;
CREATE INDEX nodes_blob ON nodes (blob_id) WHERE blob_id IS NOT NULL;
CREATE INDEX nodes_tenant_files ON nodes (tenant_id, kind);
