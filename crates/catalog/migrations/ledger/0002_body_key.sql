-- The key that seals record bodies, wrapped by the master key named by master_key_id.
CREATE TABLE body_key (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    master_key_id BLOB    NOT NULL,
    wrapped       BLOB    NOT NULL
);
