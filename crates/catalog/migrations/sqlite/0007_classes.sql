-- What classification found in a file (data classes and their counts, bank formats), sealed
-- with the tenant key and bound to the file's contents; NULL until the file is classified.
ALTER TABLE nodes ADD COLUMN classes BLOB;
