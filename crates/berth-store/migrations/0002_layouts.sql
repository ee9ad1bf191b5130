-- The last automatic layout of each stack's diagram, with the graph it was computed from: when the
-- stack opens again with the same graph it is drawn at once instead of laid out anew.
CREATE TABLE layouts (
    stack TEXT PRIMARY KEY NOT NULL,
    input TEXT NOT NULL,
    output TEXT NOT NULL
);
