"""Alembic revisions of the decision store (core.review.schema runs them; no env.py: the store passes
its own connection). Revision 0004 is the baseline, store version 4 as every SQLite store before
Alembic ended up (schema.migrate_legacy brings versions 1-3 there); each later revision is one
store version, named by its number so that PRAGMA user_version and Alembic agree."""
