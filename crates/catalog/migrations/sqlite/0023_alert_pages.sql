-- `alert list` reads the alerts a page at a time in (time, id) order, each page from where the
-- last ended: by this index, each page is read where it starts, not sorted from the whole table
-- (before, every alert was read at once: years of alerts held in one command's memory).
CREATE INDEX alerts_time_id ON alerts (time_ms, id);
DROP INDEX alerts_time;
