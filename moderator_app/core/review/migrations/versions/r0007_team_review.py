"""Store version 7: a team's queues. Two new tables, no row of an existing one changed:
`queue_assignments` (who a queue is assigned to, by whom, when) and `queue_review` (per queue: the
model whose decisions its table showed last, so that "N of M reviewed" in the queue list counts what
the table shows, and the share of items drawn for a blind double review with its seed). An
adjudication is a decision row of kind 'adjudication' in the unchanged log."""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queue_assignments",
        sa.Column("queue_id", sa.Integer(), sa.ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("moderator", sa.Text(), primary_key=True),
        sa.Column("assigned_by", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("assigned_at", sa.Text(), nullable=False),
    )
    op.create_table(
        "queue_review",
        sa.Column("queue_id", sa.Integer(), sa.ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("model_identity", sa.Text(), nullable=True),
        sa.Column("double_share", sa.Float(), nullable=True),
        sa.Column("double_seed", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("double_set_by", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("double_set_at", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    raise NotImplementedError("the decision store is never downgraded")
