-- The gate: second factors, certificates, network allow-lists, bans, credential hygiene.

-- Which first factors an account may use (comma-separated: publickey, certificate, password).
-- automation = 1: a machine account (no password allowed, exempt from the tenant's MFA minimum).
-- totp_secret: the TOTP secret sealed with the tenant key; totp_last_step: the last accepted
-- time step (a code is accepted once). allowed_networks: comma-separated CIDRs, NULL = any.
ALTER TABLE accounts ADD COLUMN methods TEXT NOT NULL DEFAULT 'publickey,certificate,password';
ALTER TABLE accounts ADD COLUMN automation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN totp_secret BLOB;
ALTER TABLE accounts ADD COLUMN totp_last_step INTEGER;
ALTER TABLE accounts ADD COLUMN allowed_networks TEXT;
ALTER TABLE accounts ADD COLUMN password_expires_at INTEGER;
ALTER TABLE accounts ADD COLUMN password_last_used_at INTEGER;
ALTER TABLE accounts ADD COLUMN password_last_used_from TEXT;
ALTER TABLE accounts ADD COLUMN under_attack_until INTEGER;

ALTER TABLE account_keys ADD COLUMN expires_at INTEGER;
ALTER TABLE account_keys ADD COLUMN last_used_at INTEGER;
ALTER TABLE account_keys ADD COLUMN last_used_from TEXT;

-- require_mfa = 1: every non-automation account needs a second factor.
ALTER TABLE tenants ADD COLUMN require_mfa INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN allowed_networks TEXT;

-- One-time recovery codes, stored as SHA-256 hashes (the codes are 80-bit random).
CREATE TABLE recovery_codes (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    code_hash  BLOB    NOT NULL,
    used_at    INTEGER
);
CREATE INDEX recovery_codes_account ON recovery_codes (account_id);

-- OpenSSH certificate authorities a tenant trusts for user certificates.
CREATE TABLE tenant_cas (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    public_key  TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    comment     TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    UNIQUE (tenant_id, fingerprint)
);

-- Revoked certificates: by key id or by the certified key's SHA256 fingerprint.
CREATE TABLE cert_revocations (
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('key-id', 'fingerprint')),
    value      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, kind, value)
);

-- The defender's bans of source addresses (escalating: level 1, 2, 3 ...).
CREATE TABLE bans (
    address    TEXT    PRIMARY KEY,
    level      INTEGER NOT NULL,
    until      INTEGER NOT NULL,
    reason     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
