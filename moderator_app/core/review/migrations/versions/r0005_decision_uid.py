"""Store version 5: each decision carries a client-generated `uid`, unique, so that a write retried
after a lost connection (a shared PostgreSQL store) stores the decision once. Earlier rows keep a NULL
uid (a unique index admits several NULLs on both engines); no row is changed."""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("decisions", sa.Column("uid", sa.Text(), nullable=True))
    op.create_index("decisions_by_uid", "decisions", ["uid"], unique=True)


def downgrade() -> None:
    raise NotImplementedError("the decision store is never downgraded")
