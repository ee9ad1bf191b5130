-- Stacks the user opened, most recent first in the sidebar.
CREATE TABLE stacks (
    path TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    opened_at INTEGER NOT NULL
);

-- Window and layout preferences as small text values.
CREATE TABLE prefs (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

-- Diagram node positions the user moved, per stack.
CREATE TABLE node_positions (
    stack TEXT NOT NULL,
    node TEXT NOT NULL,
    x REAL NOT NULL,
    y REAL NOT NULL,
    PRIMARY KEY (stack, node)
);
