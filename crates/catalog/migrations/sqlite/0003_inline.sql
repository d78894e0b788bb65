-- Small files' contents kept in their row instead of the blob store: the raw blob bytes as the
-- vault wrote them (sealed exactly as a blob file would be; the root still in content_root).
-- NULL: the contents are in the blob store under blob_id.
ALTER TABLE nodes ADD COLUMN contents BLOB;
