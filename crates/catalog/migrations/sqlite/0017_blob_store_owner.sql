-- The mark of this data directory's blob store, written there too (`blobs/owner`): a store
-- that is another data directory's (a volume or path mixed up) is refused at start rather than
-- swept of every blob this catalog does not refer to. Empty until the server's next start.
CREATE TABLE blob_store_owner (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    mark        TEXT    NOT NULL,
    recorded_at INTEGER NOT NULL
);
