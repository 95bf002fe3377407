"""Store version 10: an adjudication may be undone, by a `revert` row pointing at it (core.review.team).
No table changes. The version moves so that an app of version 9 or older, which would read an undone
adjudication as still in force (settled in its queue list, the final label in its exports, retraining
and corrections), refuses the store and asks to be updated, instead of using a label the lead took
back."""

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # the log's rows are unchanged; what changes is how a version-10 app reads a revert of an adjudication


def downgrade() -> None:
    raise NotImplementedError("the decision store is never downgraded")
