-- When an administrator last unlocked the account (`user unlock`, Unix milliseconds): every
-- server's detector releases the account it holds as contained from before then, whether or
-- not the command reached it over its control socket.
ALTER TABLE accounts ADD COLUMN released_at INTEGER;
