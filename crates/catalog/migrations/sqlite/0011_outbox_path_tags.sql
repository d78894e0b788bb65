-- The path tags of an outbox record, indexed fields of the ledger since ledger migration 0006
-- (`incident file` finds the files once at a path through them), so that a record recovered
-- from the outbox after a crash is indexed as it would have been.
ALTER TABLE ledger_outbox ADD COLUMN path_tag TEXT;
ALTER TABLE ledger_outbox ADD COLUMN to_tag TEXT;
