"""Imported payer packs.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payer_packs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("version", sa.String(80), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("rule_count", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_payer_packs_payer_active", "payer_packs", ["payer_id", "active"])


def downgrade() -> None:
    op.drop_index("ix_payer_packs_payer_active", "payer_packs")
    op.drop_table("payer_packs")
