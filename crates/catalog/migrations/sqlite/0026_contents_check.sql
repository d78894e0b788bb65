-- The server's pass over every stored file's contents (`[storage] contents_check_days`): where
-- it has reached, so that a pass over a large store, paced to spare the disk, goes on across
-- the server's restarts rather than beginning again, and when the last one began and ended, so
-- that a start does not begin another before it is due. One row, once a pass has begun.
CREATE TABLE contents_check (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    -- The pass's beginning and, once every tenant was read, its end (Unix milliseconds).
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    -- The last node made when it began: files made since are read by the next pass (a tenant
    -- uploading faster than the pass reads would otherwise keep it from ever ending).
    until_node  INTEGER NOT NULL,
    -- The tenant being read, and the last of its files read (NULL: none yet).
    tenant_id   INTEGER NOT NULL,
    after_node  INTEGER,
    -- So far in the pass: files and bytes read, files whose contents do not open.
    files_read  INTEGER NOT NULL,
    bytes_read  INTEGER NOT NULL,
    damaged     INTEGER NOT NULL
);
