-- An account's combined read and write rate limit (bytes per second); NULL: none.
ALTER TABLE accounts ADD COLUMN throttle_bytes_per_sec INTEGER;
