-- Where each alert is to be delivered besides the ledger (`[alerts]`: a webhook, e-mail) and how
-- that went: the durable queue of deliveries. An alert raised just before a restart, or while
-- its receiver was down, is delivered once it can be (for a day), by whichever server on the
-- catalog holds it first, and `alert show` says whether and when it was.
CREATE TABLE alert_deliveries (
    alert_id     TEXT    NOT NULL,
    -- `webhook` or `email`.
    destination  TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    -- When it may be tried next (Unix milliseconds); a server trying it holds it by moving
    -- this ahead first.
    next_at      INTEGER NOT NULL,
    delivered_at INTEGER,
    gave_up_at   INTEGER,
    last_error   TEXT,
    PRIMARY KEY (alert_id, destination)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (destination, next_at)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;
