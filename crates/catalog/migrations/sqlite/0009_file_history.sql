-- What a file's earlier contents held: when an upload replaces a classified file's contents, or
-- a classified file is deleted (by a client, retention, or a rename over it), its sealed
-- classes are kept here with the size and commit time of those contents, so that an incident
-- report can say what a read took after the file changed or is gone. Sealed as nodes.classes
-- (tenant key, bound to content_root); dropped with the tenant.
CREATE TABLE class_history (
    id           INTEGER PRIMARY KEY,
    file_id      INTEGER NOT NULL,
    tenant_id    INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    content_root BLOB,
    classes      BLOB    NOT NULL
);
CREATE INDEX class_history_by_file ON class_history (file_id, created_at);
CREATE INDEX class_history_by_tenant ON class_history (tenant_id);

CREATE TRIGGER class_history_on_replace
BEFORE UPDATE OF blob_id, content_root, contents ON nodes
WHEN OLD.kind = 'file' AND OLD.classes IS NOT NULL
 AND (OLD.blob_id IS NOT NEW.blob_id OR OLD.content_root IS NOT NEW.content_root
      OR OLD.contents IS NOT NEW.contents)
BEGIN
    INSERT INTO class_history (file_id, tenant_id, created_at, size, content_root, classes)
    VALUES (OLD.id, OLD.tenant_id, OLD.created_at, OLD.size, OLD.content_root, OLD.classes);
END;

-- Not while the tenant itself is being removed (its rows go with it).
CREATE TRIGGER class_history_on_delete
BEFORE DELETE ON nodes
WHEN OLD.kind = 'file' AND OLD.classes IS NOT NULL
 AND EXISTS (SELECT 1 FROM tenants WHERE id = OLD.tenant_id)
BEGIN
    INSERT INTO class_history (file_id, tenant_id, created_at, size, content_root, classes)
    VALUES (OLD.id, OLD.tenant_id, OLD.created_at, OLD.size, OLD.content_root, OLD.classes);
END;

-- File and directory ids are never given twice (the ledger and incident reports name files by
-- id, long after a file is gone): every insert takes the highest id ever given plus one.
-- SQLite alone would reuse the id of the newest row once it is deleted.
CREATE TABLE node_id_high_water (id INTEGER NOT NULL);
INSERT INTO node_id_high_water SELECT COALESCE(MAX(id), 0) FROM nodes;
CREATE TRIGGER node_id_high_water_on_insert
AFTER INSERT ON nodes
WHEN NEW.id > (SELECT id FROM node_id_high_water)
BEGIN
    UPDATE node_id_high_water SET id = NEW.id;
END;
