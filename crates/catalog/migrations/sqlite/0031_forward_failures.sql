-- How each SIEM destination's delivery stands, for `audit forwarding`: since when its sends
-- have been failing (NULL: they are not), and its last failure and when (kept after it works
-- again, as the last trouble it had).
ALTER TABLE forward_cursors ADD COLUMN failing_since INTEGER;
ALTER TABLE forward_cursors ADD COLUMN last_failure TEXT;
ALTER TABLE forward_cursors ADD COLUMN last_failure_at INTEGER;
