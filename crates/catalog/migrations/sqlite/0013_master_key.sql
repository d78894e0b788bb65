-- The master key every tenant key is wrapped under. A master key rotation changes it in the
-- transaction that re-wraps the tenant keys; a tenant key made under another master key (by a
-- command that loaded its keyring before the rotation) is refused, so that no tenant key is
-- left wrapped under a master key the rotation deletes. Empty until the first tenant key.
CREATE TABLE master_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    master_key_id BLOB NOT NULL
);
-- A catalog that has tenant keys already records the master key of its newest.
INSERT INTO master_key (id, master_key_id)
SELECT 1, master_key_id FROM tenant_keys ORDER BY created_at DESC, tenant_id DESC LIMIT 1;
