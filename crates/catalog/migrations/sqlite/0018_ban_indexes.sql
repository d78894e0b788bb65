-- Bans by their end (those ended long ago are forgotten, the oldest first) and by when they
-- were made (the server reads the ones made since it last looked, not every ban, every few
-- seconds).
CREATE INDEX bans_until ON bans (until);
CREATE INDEX bans_created ON bans (created_at);
