"""Portal runs (issue 6): one row per submit or status task on a payer portal, with its steps,
the names of its encrypted screenshots and traces, and the question it waits on.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column(
            "request_id",
            sa.String(36),
            sa.ForeignKey("authorization_requests.id"),
            nullable=False,
        ),
        sa.Column("purpose", sa.String(10), nullable=False),
        sa.Column("sop", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("actor_email", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(100), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("screenshots", sa.JSON(), nullable=False),
        sa.Column("traces", sa.JSON(), nullable=False),
        sa.Column("question", sa.JSON(), nullable=True),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("answer_text", sa.Text(), nullable=True),
        sa.Column("values", sa.Text(), nullable=True),
    )
    op.create_index("ix_portal_runs_organization_id", "portal_runs", ["organization_id"])
    op.create_index("ix_portal_runs_request_id", "portal_runs", ["request_id"])
    op.create_index("ix_portal_runs_status", "portal_runs", ["status"])


def downgrade() -> None:
    op.drop_index("ix_portal_runs_status", table_name="portal_runs")
    op.drop_index("ix_portal_runs_request_id", table_name="portal_runs")
    op.drop_index("ix_portal_runs_organization_id", table_name="portal_runs")
    op.drop_table("portal_runs")
