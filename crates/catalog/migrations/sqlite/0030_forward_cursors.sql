-- How far each SIEM destination (`[forward]`: syslog over TCP or UDP, a JSON-lines file, named
-- with its address or path) has been sent the ledger: after a restart, or records its queue
-- could not hold while it was down or slow, it is sent the records after this from the ledger
-- before the new ones, so that its stream has no gap.
CREATE TABLE forward_cursors (
    destination TEXT    PRIMARY KEY,
    -- The last ledger sequence number handed to it.
    seq         INTEGER NOT NULL
);
