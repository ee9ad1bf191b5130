-- Snapshots of a stack's data. A row is written `pending` before any artifact is, so a crash
-- mid-snapshot leaves a row that names the folder to clean up; it turns `complete` together with
-- its items in one transaction, so a listed snapshot always has every item it was taken with.
CREATE TABLE snapshots (
    id TEXT PRIMARY KEY NOT NULL,
    stack TEXT NOT NULL,
    project TEXT NOT NULL,
    label TEXT NULL,
    origin TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'complete')),
    created INTEGER NOT NULL,
    completed INTEGER NULL,
    engine TEXT NOT NULL
);

-- The stack's snapshot list is read newest first.
CREATE INDEX snapshots_stack_created ON snapshots (stack, created);

-- One artifact of a snapshot (a volume's archive, a database dump), in the order it was taken.
-- `counts` is a JSON object of name -> integer (rows per table, files, ...).
CREATE TABLE snapshot_items (
    snapshot TEXT NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    service TEXT NOT NULL,
    kind TEXT NOT NULL,
    volume TEXT NULL,
    database TEXT NULL,
    version TEXT NULL,
    file TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    raw_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    counts TEXT NOT NULL,
    PRIMARY KEY (snapshot, seq)
);
