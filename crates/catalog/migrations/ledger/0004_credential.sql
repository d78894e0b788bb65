-- The credential (key fingerprint or certificate key id) of session and authentication
-- records, as an indexed field like account and session: in the body's hashed prefix (layout
-- 2) and in a column, so that the incident report's --key finds the sessions a credential
-- opened through an index. Records from before this migration have none (layout 1);
-- `credential_from` says where indexed records begin, and readers look through the session
-- records before it. Records by kind, in sequence order (the row id ends the index), for that
-- and for `audit export --kind`.
ALTER TABLE records ADD COLUMN credential TEXT;
ALTER TABLE recent ADD COLUMN credential TEXT;
CREATE INDEX records_credential ON records (credential) WHERE credential IS NOT NULL;
CREATE INDEX records_kind ON records (kind);
CREATE TABLE ledger_facts (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO ledger_facts (name, value)
SELECT 'credential_from', COALESCE(MAX(seq), 0) + 1
  FROM (SELECT seq FROM records UNION ALL SELECT seq FROM recent);
