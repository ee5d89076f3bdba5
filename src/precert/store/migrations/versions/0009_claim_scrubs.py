"""Kept claim scrubs: one row per scrubbed 837 with its counts and a PHI-free findings summary
(by kind, by payer and kind) in plain columns and the filename,
the result JSON (it holds member ids) and the corrected 837 as ciphertext.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claim_scrubs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("scrubbed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("clean_lines", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("warnings", sa.Integer(), nullable=False),
        sa.Column("fixable", sa.Integer(), nullable=False),
        sa.Column("unreadable", sa.Integer(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("corrected", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_claim_scrubs_org_scrubbed_at", "claim_scrubs", ["organization_id", "scrubbed_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_claim_scrubs_org_scrubbed_at", table_name="claim_scrubs")
    op.drop_table("claim_scrubs")
