-- The file id of file records (and of retention deletions), as an indexed field like account
-- and credential: in the body's hashed prefix (layout 3) and in a column, so that `incident
-- file` finds the records about one file through an index instead of reading its tenant's
-- whole history. Records from before this migration have none (layouts 1 and 2);
-- `file_id_from` says where indexed records begin, and readers look through the records
-- before it.
ALTER TABLE records ADD COLUMN file_id TEXT;
ALTER TABLE recent ADD COLUMN file_id TEXT;
CREATE INDEX records_file_id ON records (file_id) WHERE file_id IS NOT NULL;
INSERT INTO ledger_facts (name, value)
SELECT 'file_id_from', COALESCE(MAX(seq), 0) + 1
  FROM (SELECT seq FROM records UNION ALL SELECT seq FROM recent);
