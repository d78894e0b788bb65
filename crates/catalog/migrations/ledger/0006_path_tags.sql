-- The tags of the paths a file record names (its `path`, and a rename's `to`), as indexed
-- fields like the file id: keyed HMACs of the tenant and the path (`LedgerBodyKey::path_tag`),
-- in the body's hashed prefix (layout 4) and in columns, so that `incident file` finds the
-- files that were at a path (deleted since, or replaced) through an index instead of reading
-- the tenant's whole history. A tag shows which records name the same path, not the path.
-- Records from before this migration have none (layouts 1 to 3); `path_tag_from` says where
-- tagged records begin, and readers look through the records before it.
ALTER TABLE records ADD COLUMN path_tag TEXT;
ALTER TABLE records ADD COLUMN to_tag TEXT;
ALTER TABLE recent ADD COLUMN path_tag TEXT;
ALTER TABLE recent ADD COLUMN to_tag TEXT;
CREATE INDEX records_path_tag ON records (path_tag) WHERE path_tag IS NOT NULL;
CREATE INDEX records_to_tag ON records (to_tag) WHERE to_tag IS NOT NULL;
INSERT INTO ledger_facts (name, value)
SELECT 'path_tag_from', COALESCE(MAX(seq), 0) + 1
  FROM (SELECT seq FROM records UNION ALL SELECT seq FROM recent);
