"""Store version 9: a queue keeps a multi-label model's per-category thresholds, as it keeps the binary
threshold, so that a reopened queue flags each category where the moderator left it. One nullable column
of `queues`, JSON text: `category_thresholds` ({category: threshold}). Every earlier queue keeps its
values and gets NULL in it, as a queue reviewed with a single-label model does."""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("queues", sa.Column("category_thresholds", sa.Text(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("the decision store is never downgraded")
