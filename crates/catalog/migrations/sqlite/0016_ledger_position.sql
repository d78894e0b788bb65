-- The last signed checkpoint the server saw its ledger hold (written after each checkpoint the
-- server signs: every 30 s while records come, and at its stop). A ledger rolled back
-- to an older copy of itself (a backup of ledger.db alone restored) lacks it, and one rewritten
-- holds another in its place: both verify under their key, and are refused at start rather than
-- served as intact. Empty until the server's next checkpoint.
ALTER TABLE ledger_identity ADD COLUMN checkpoint_seq INTEGER;
ALTER TABLE ledger_identity ADD COLUMN checkpoint_hash BLOB;
ALTER TABLE ledger_identity ADD COLUMN checkpoint_time INTEGER;
