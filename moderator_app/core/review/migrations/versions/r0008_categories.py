"""Store version 8: a multi-label model's decision is a set of categories. Three nullable columns of
`decisions`, JSON text: `moderator_categories` (the categories the moderator says apply; [] for none of
them), `model_categories` (those the model flagged) and `category_thresholds` ({category: threshold}).
Every earlier row keeps its values and gets NULL in them, as a single-label decision does."""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name in ("moderator_categories", "model_categories", "category_thresholds"):
        op.add_column("decisions", sa.Column(name, sa.Text(), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("the decision store is never downgraded")
