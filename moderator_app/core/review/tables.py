"""The decision store's one schema, for both engines (SQLite and PostgreSQL), as SQLAlchemy Core tables:
a new store of either engine is created from these, and the Alembic revisions in migrations/ bring an
older one up to them. Column by column it is version 4's schema (schema.py tells its history) plus
`decisions.uid`, a client-generated unique id per decision, so that a write retried after a lost
connection stores the decision once, plus (version 7) a team's queues: who a queue is assigned to
(`queue_assignments`) and a queue's review settings (`queue_review`: the model its table was last shown
with, and the share of it drawn for a blind double review), plus (version 8) a multi-label model's
decision: the sets of categories the moderator and the model said apply, and the thresholds, as JSON,
plus (version 9) a queue's per-category thresholds, JSON, as it keeps the binary one. An
adjudication is a decision row of kind 'adjudication', and its undo a 'revert' row whose `reverts` points at
it, as an undo of a decision does: neither needs a column of its own."""

from __future__ import annotations

from sqlalchemy import (BigInteger, Column, Float, ForeignKey, Identity, Index, Integer, LargeBinary, MetaData,
                        Table, Text, text)

metadata = MetaData()

# SQLite: INTEGER PRIMARY KEY is the rowid (AUTOINCREMENT: never reused); PostgreSQL: a 64-bit identity
_row_id = BigInteger().with_variant(Integer(), "sqlite")
_empty = text("''")

decisions = Table(
    "decisions", metadata,
    Column("id", _row_id, Identity(), primary_key=True),
    Column("text", Text, nullable=False),
    Column("model_label", Text, nullable=False),
    Column("model_score", Float),
    Column("moderator_label", Text),  # NULL: an undo that left the text undecided
    Column("model_id", Text, nullable=False),  # the model's identity: a hash of its weights and labels
    Column("decided_at", Text, nullable=False),
    Column("moderator", Text, nullable=False, server_default=_empty),
    Column("model_name", Text, nullable=False, server_default=_empty),
    Column("threshold", Float),
    Column("probabilities", Text),  # JSON {label: probability} as the moderator saw them
    Column("note", Text, nullable=False, server_default=_empty),
    Column("category", Text, nullable=False, server_default=_empty),
    Column("queue", Text, nullable=False, server_default=_empty),
    Column("queue_id", Integer),  # no foreign key: the log outlives a deleted queue
    Column("kind", Text, nullable=False, server_default=text("'decision'")),
    Column("reverts", _row_id, ForeignKey("decisions.id")),
    Column("uid", Text),  # client-generated; NULL in rows written before version 5
    # version 8, a multi-label model's decision (NULL in a single-label one and in every earlier row):
    # JSON lists of the categories the moderator and the model said apply, and the per-category thresholds
    Column("moderator_categories", Text),
    Column("model_categories", Text),
    Column("category_thresholds", Text),
    sqlite_autoincrement=True,
)
Index("decisions_by_text", decisions.c.text, decisions.c.id)
Index("decisions_by_model_labels", decisions.c.model_id, decisions.c.text, decisions.c.id,
      decisions.c.moderator_label, decisions.c.model_label)
Index("decisions_by_queue", decisions.c.queue_id, decisions.c.text, decisions.c.id)
Index("decisions_by_uid", decisions.c.uid, unique=True)

queues = Table(
    "queues", metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("created_at", Text, nullable=False),
    Column("model_name", Text, nullable=False, server_default=_empty),
    Column("threshold", Float),
    Column("filter", Text, nullable=False, server_default=text("'all'")),
    Column("search", Text, nullable=False, server_default=_empty),
    Column("sort_key", Text),
    Column("descending", Integer, nullable=False, server_default=text("0")),
    Column("position", Integer, nullable=False, server_default=text("0")),  # the item selected last
    Column("columns", Text, nullable=False, server_default=text("'[]'")),  # JSON: the file's other columns
    Column("shown_columns", Text, nullable=False, server_default=text("'[]'")),
    Column("source", Text, nullable=False, server_default=_empty),
    # version 9: JSON {category: threshold} in use with a multi-label model (NULL: a single-label one, or
    # a queue saved before version 9)
    Column("category_thresholds", Text),
    sqlite_autoincrement=True,
)

queue_items = Table(
    "queue_items", metadata,
    Column("queue_id", Integer, ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True),
    Column("item", Integer, primary_key=True),
    Column("text", Text, nullable=False),
    Column("extra", Text),  # JSON list: the other columns' values, in `columns` order
)

queue_scores = Table(
    "queue_scores", metadata,
    Column("queue_id", Integer, ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True),
    Column("model_identity", Text, primary_key=True),
    Column("labels", Text, nullable=False),  # JSON list: the model's labels, the columns of `probabilities`
    Column("items", Integer, nullable=False),  # how many of the queue's items (in item order) they cover
    Column("probabilities", LargeBinary, nullable=False),  # float32, items x labels, row-major
)

# version 7: a team's queues. Settings, not the log: an assignment or a share may be changed or removed
queue_assignments = Table(
    "queue_assignments", metadata,
    Column("queue_id", Integer, ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True),
    Column("moderator", Text, primary_key=True),
    Column("assigned_by", Text, nullable=False, server_default=_empty),
    Column("assigned_at", Text, nullable=False),
)

queue_review = Table(
    "queue_review", metadata,
    Column("queue_id", Integer, ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True),
    Column("model_identity", Text),  # the model whose decisions the queue's table showed last
    Column("double_share", Float),  # the share of items a second moderator reviews blind (NULL: none)
    Column("double_seed", Integer, nullable=False, server_default=text("0")),
    Column("double_set_by", Text, nullable=False, server_default=_empty),
    Column("double_set_at", Text),
)
