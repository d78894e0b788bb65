-- The file id of an outbox record, one of the ledger's indexed fields since ledger migration
-- 0005 (`incident file` finds a file's records through it), so that a record recovered from
-- the outbox after a crash is indexed as it would have been.
ALTER TABLE ledger_outbox ADD COLUMN file_id INTEGER;
