"""Store version 4, where Alembic takes over: the tables of schema.TABLES_V4.

No upgrade step: a store reaches version 4 either as an SQLite file brought there by
schema.migrate_legacy (versions 1-3 existed only as SQLite files) or, new, is created from
core.review.tables at the newest version and stamped."""

revision = "0004"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    raise NotImplementedError("the decision store is never downgraded")
