-- A directory's subdirectories, found without reading its files: a directory's rename names
-- the files under it (at any depth), and the walk down its tree must not read every file of a
-- directory that holds a million.
CREATE INDEX nodes_subdirectories ON nodes(parent_id) WHERE kind = 'dir';
