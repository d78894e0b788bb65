-- A checkpoint signs, beside the chain's head, the records since the checkpoint before it: the
-- sequence number it follows and the Merkle root of their hashes (`ledger::merkle`), so that one
-- record is shown to be in the chain by an inclusion proof instead of by every record of its
-- interval (an incident report's evidence file). Checkpoints from before have neither.
ALTER TABLE checkpoints ADD COLUMN after_seq INTEGER;
ALTER TABLE checkpoints ADD COLUMN root BLOB;
