-- A checkpoint signs, beside its interval's Merkle root, the root of its interval's account
-- index (`ledger::account_index`): which records each account, and each account in each
-- tenant, has in the interval. An incident report's evidence file shows with it that it holds
-- every record of the accounts it is about, not only records that are in the chain.
-- Checkpoints from before have none.
ALTER TABLE checkpoints ADD COLUMN accounts BLOB;
