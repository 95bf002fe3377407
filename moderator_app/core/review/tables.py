"""The decision store's one schema, for both engines (SQLite and PostgreSQL), as SQLAlchemy Core tables:
a new store of either engine is created from these, and the Alembic revisions in migrations/ bring an
older one up to them. Column by column it is version 4's schema (schema.py tells its history) plus
`decisions.uid`, a client-generated unique id per decision, so that a write retried after a lost
connection stores the decision once."""

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
