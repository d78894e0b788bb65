-- Sessions an administrator ended (`session kill`, the address of `ban add`), for every server
-- on the catalog: each ends the live sessions a row names that began before it, within seconds,
-- whether or not the command reached it over its control socket (out of file descriptors,
-- stuck, or another node's). Rows older than a day are deleted as new ones are made.
CREATE TABLE session_kills (
    id         INTEGER PRIMARY KEY,
    -- Which sessions (`service::sessions::Selection`, as JSON) and why (their close records
    -- say it).
    selection  TEXT    NOT NULL,
    why        TEXT    NOT NULL,
    -- When (Unix milliseconds): sessions that began later are not its.
    created_at INTEGER NOT NULL
);
