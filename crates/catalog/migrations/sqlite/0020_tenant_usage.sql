-- Each tenant's files and bytes, kept by triggers on nodes in the transaction of every change
-- that adds, removes or resizes a file (an upload's commit, a removal, a rename over a file,
-- retention, a tenant's removal): a quota's check in every upload's commit, and the detector
-- every 2 s, read one row, not the tenant's every file (67 ms an upload under a quota for a
-- tenant of 520,000 files before).
CREATE TABLE tenant_usage (
    tenant_id INTEGER PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    bytes     INTEGER NOT NULL,
    files     INTEGER NOT NULL
);
INSERT INTO tenant_usage (tenant_id, bytes, files)
    SELECT tenant_id, SUM(size), COUNT(*) FROM nodes WHERE kind = 'file' GROUP BY tenant_id;
CREATE TRIGGER tenant_usage_file_added AFTER INSERT ON nodes WHEN NEW.kind = 'file'
BEGIN
    INSERT INTO tenant_usage (tenant_id, bytes, files) VALUES (NEW.tenant_id, NEW.size, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET bytes = bytes + excluded.bytes, files = files + 1;
END;
CREATE TRIGGER tenant_usage_file_removed AFTER DELETE ON nodes WHEN OLD.kind = 'file'
BEGIN
    UPDATE tenant_usage SET bytes = bytes - OLD.size, files = files - 1
     WHERE tenant_id = OLD.tenant_id;
END;
CREATE TRIGGER tenant_usage_file_changed AFTER UPDATE OF size, kind, tenant_id ON nodes
    WHEN OLD.kind = 'file' OR NEW.kind = 'file'
BEGIN
    UPDATE tenant_usage SET bytes = bytes - OLD.size, files = files - 1
     WHERE tenant_id = OLD.tenant_id AND OLD.kind = 'file';
    INSERT INTO tenant_usage (tenant_id, bytes, files)
        SELECT NEW.tenant_id, NEW.size, 1 WHERE NEW.kind = 'file'
        ON CONFLICT (tenant_id) DO UPDATE SET bytes = bytes + excluded.bytes, files = files + 1;
END;
