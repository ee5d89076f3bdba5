"""Recovery work from 835 remittances: each imported file and the recovery items (corrected
claim, retro-authorization, appeal, review) its authorization denials became. No PHI.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Amounts are exact decimal strings; a re-import of the same file (same sha256) is refused.
    op.create_table(
        "remittance_files",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("payer_name", sa.String(200), nullable=False),
        sa.Column("x12_payer_id", sa.String(80), nullable=False),
        sa.Column("payment_date", sa.Date(), nullable=True),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("denied", sa.Integer(), nullable=False),
        sa.Column("authorization_related", sa.Integer(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("charged", sa.String(32), nullable=False),
        sa.Column("paid", sa.String(32), nullable=False),
        sa.UniqueConstraint("organization_id", "sha256", name="uq_remittance_files_sha"),
    )
    op.create_table(
        "recovery_items",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column("file_id", sa.String(36), sa.ForeignKey("remittance_files.id"), nullable=False),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("claim_id", sa.String(80), nullable=False),
        sa.Column("payer_claim_number", sa.String(80), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=True),
        sa.Column("cause", sa.String(40), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("amount", sa.String(32), nullable=False),
        sa.Column("carcs", sa.JSON(), nullable=False),
        sa.Column("rarcs", sa.JSON(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("authorization_number", sa.String(80), nullable=True),
        sa.Column("request_id", sa.String(36), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_recovery_items_org_status_deadline",
        "recovery_items",
        ["organization_id", "status", "deadline"],
    )


def downgrade() -> None:
    op.drop_index("ix_recovery_items_org_status_deadline", table_name="recovery_items")
    op.drop_table("recovery_items")
    op.drop_table("remittance_files")
