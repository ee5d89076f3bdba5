"""Electronic exchanges with payers: submissions awaiting a decision and the payers'
subscriptions that push decisions back.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per electronic submission (keyed by its idempotency key, so a replay adds nothing);
    # the sweep asks the payer again when next_check_at comes, until the decision lands.
    op.create_table(
        "payer_exchanges",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column(
            "organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column(
            "request_id",
            sa.String(36),
            sa.ForeignKey("authorization_requests.id"),
            nullable=False,
        ),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("reference", sa.String(80), nullable=False),
        sa.Column("payer_reference", sa.String(80), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        # The channel's receipt (references, trace, control numbers; never PHI).
        sa.Column("receipt", sa.JSON(), nullable=False),
    )
    op.create_index("ix_exchanges_next_check", "payer_exchanges", ["next_check_at"])
    op.create_index("ix_exchanges_request", "payer_exchanges", ["organization_id", "request_id"])

    # The rest-hook Subscription precert holds at a payer for one organization.
    op.create_table(
        "payer_subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("subscription_id", sa.String(200), nullable=False),
        sa.Column("endpoint", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("organization_id", "payer_id", name="uq_subscription_payer"),
    )


def downgrade() -> None:
    op.drop_table("payer_subscriptions")
    op.drop_index("ix_exchanges_request", table_name="payer_exchanges")
    op.drop_index("ix_exchanges_next_check", table_name="payer_exchanges")
    op.drop_table("payer_exchanges")
