"""The decision store's SQLite schemas of earlier releases, as they created a new store (copied from
git history: the migration tests build each one for real and fill it before opening it with this
version)."""

# version 1: git show a69b821:moderator_app/core/review/store.py
from test_review_log import VERSION_1_SCHEMA as VERSION_1  # noqa: F401

# version 2: git show ff3e57b^:moderator_app/core/review/schema.py
VERSION_2 = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    text TEXT NOT NULL,
    model_label TEXT NOT NULL,
    model_score REAL,
    moderator_label TEXT,              -- NULL: an undo that left the text undecided
    model_id TEXT NOT NULL,            -- the model's identity: a hash of its weights and labels
    decided_at TEXT NOT NULL,
    moderator TEXT NOT NULL DEFAULT '',
    model_name TEXT NOT NULL DEFAULT '',  -- the folder or hub id it was loaded from, for people to read
    threshold REAL,
    probabilities TEXT,                -- JSON {label: probability} as the moderator saw them
    note TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT '',
    queue TEXT NOT NULL DEFAULT '',    -- the queue's name when the decision was made
    queue_id INTEGER,                  -- the queue (no foreign key: the log outlives a deleted queue)
    kind TEXT NOT NULL DEFAULT 'decision',  -- 'decision' or 'revert' (an undo)
    reverts INTEGER REFERENCES decisions(id)
);
CREATE INDEX IF NOT EXISTS decisions_by_text ON decisions (text, id);
CREATE INDEX IF NOT EXISTS decisions_by_model ON decisions (model_id, text, id);
CREATE INDEX IF NOT EXISTS decisions_by_queue ON decisions (queue_id, text, id);
CREATE TABLE IF NOT EXISTS queues (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    model_name TEXT NOT NULL DEFAULT '',
    threshold REAL,
    filter TEXT NOT NULL DEFAULT 'all',
    search TEXT NOT NULL DEFAULT '',
    sort_key TEXT,
    descending INTEGER NOT NULL DEFAULT 0,
    position INTEGER NOT NULL DEFAULT 0,  -- the item selected last
    columns TEXT NOT NULL DEFAULT '[]',   -- JSON: the imported file's other columns
    shown_columns TEXT NOT NULL DEFAULT '[]',
    source TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS queue_items (
    queue_id INTEGER NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
    item INTEGER NOT NULL,
    text TEXT NOT NULL,
    extra TEXT,                        -- JSON list: the other columns' values, in `columns` order
    PRIMARY KEY (queue_id, item)
);
"""

# version 3: git show 6749db6^:moderator_app/core/review/schema.py
VERSION_3 = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    text TEXT NOT NULL,
    model_label TEXT NOT NULL,
    model_score REAL,
    moderator_label TEXT,              -- NULL: an undo that left the text undecided
    model_id TEXT NOT NULL,            -- the model's identity: a hash of its weights and labels
    decided_at TEXT NOT NULL,
    moderator TEXT NOT NULL DEFAULT '',
    model_name TEXT NOT NULL DEFAULT '',  -- the folder or hub id it was loaded from, for people to read
    threshold REAL,
    probabilities TEXT,                -- JSON {label: probability} as the moderator saw them
    note TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT '',
    queue TEXT NOT NULL DEFAULT '',    -- the queue's name when the decision was made
    queue_id INTEGER,                  -- the queue (no foreign key: the log outlives a deleted queue)
    kind TEXT NOT NULL DEFAULT 'decision',  -- 'decision' or 'revert' (an undo)
    reverts INTEGER REFERENCES decisions(id)
);
CREATE INDEX IF NOT EXISTS decisions_by_text ON decisions (text, id);
CREATE INDEX IF NOT EXISTS decisions_by_model_label ON decisions (model_id, text, id, moderator_label);
CREATE INDEX IF NOT EXISTS decisions_by_queue ON decisions (queue_id, text, id);
CREATE TABLE IF NOT EXISTS queues (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    model_name TEXT NOT NULL DEFAULT '',
    threshold REAL,
    filter TEXT NOT NULL DEFAULT 'all',
    search TEXT NOT NULL DEFAULT '',
    sort_key TEXT,
    descending INTEGER NOT NULL DEFAULT 0,
    position INTEGER NOT NULL DEFAULT 0,  -- the item selected last
    columns TEXT NOT NULL DEFAULT '[]',   -- JSON: the imported file's other columns
    shown_columns TEXT NOT NULL DEFAULT '[]',
    source TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS queue_items (
    queue_id INTEGER NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
    item INTEGER NOT NULL,
    text TEXT NOT NULL,
    extra TEXT,                        -- JSON list: the other columns' values, in `columns` order
    PRIMARY KEY (queue_id, item)
);
CREATE TABLE IF NOT EXISTS queue_scores (
    queue_id INTEGER NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
    model_identity TEXT NOT NULL,      -- the model's identity (a hash of its weights and labels)
    labels TEXT NOT NULL,              -- JSON list: the model's labels, the columns of `probabilities`
    items INTEGER NOT NULL,            -- how many of the queue's items (in item order) they cover
    probabilities BLOB NOT NULL,       -- float32, items x labels, row-major (NaN rows: empty texts)
    PRIMARY KEY (queue_id, model_identity)
);
"""

# version 4: git show 6749db6:moderator_app/core/review/schema.py
VERSION_4 = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    text TEXT NOT NULL,
    model_label TEXT NOT NULL,
    model_score REAL,
    moderator_label TEXT,              -- NULL: an undo that left the text undecided
    model_id TEXT NOT NULL,            -- the model's identity: a hash of its weights and labels
    decided_at TEXT NOT NULL,
    moderator TEXT NOT NULL DEFAULT '',
    model_name TEXT NOT NULL DEFAULT '',  -- the folder or hub id it was loaded from, for people to read
    threshold REAL,
    probabilities TEXT,                -- JSON {label: probability} as the moderator saw them
    note TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT '',
    queue TEXT NOT NULL DEFAULT '',    -- the queue's name when the decision was made
    queue_id INTEGER,                  -- the queue (no foreign key: the log outlives a deleted queue)
    kind TEXT NOT NULL DEFAULT 'decision',  -- 'decision' or 'revert' (an undo)
    reverts INTEGER REFERENCES decisions(id)
);
CREATE INDEX IF NOT EXISTS decisions_by_text ON decisions (text, id);
CREATE INDEX IF NOT EXISTS decisions_by_model_labels ON decisions (model_id, text, id, moderator_label, model_label);
CREATE INDEX IF NOT EXISTS decisions_by_queue ON decisions (queue_id, text, id);
CREATE TABLE IF NOT EXISTS queues (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    model_name TEXT NOT NULL DEFAULT '',
    threshold REAL,
    filter TEXT NOT NULL DEFAULT 'all',
    search TEXT NOT NULL DEFAULT '',
    sort_key TEXT,
    descending INTEGER NOT NULL DEFAULT 0,
    position INTEGER NOT NULL DEFAULT 0,  -- the item selected last
    columns TEXT NOT NULL DEFAULT '[]',   -- JSON: the imported file's other columns
    shown_columns TEXT NOT NULL DEFAULT '[]',
    source TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS queue_items (
    queue_id INTEGER NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
    item INTEGER NOT NULL,
    text TEXT NOT NULL,
    extra TEXT,                        -- JSON list: the other columns' values, in `columns` order
    PRIMARY KEY (queue_id, item)
);
CREATE TABLE IF NOT EXISTS queue_scores (
    queue_id INTEGER NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
    model_identity TEXT NOT NULL,      -- the model's identity (a hash of its weights and labels)
    labels TEXT NOT NULL,              -- JSON list: the model's labels, the columns of `probabilities`
    items INTEGER NOT NULL,            -- how many of the queue's items (in item order) they cover
    probabilities BLOB NOT NULL,       -- float32, items x labels, row-major (NaN rows: empty texts)
    PRIMARY KEY (queue_id, model_identity)
);
"""
