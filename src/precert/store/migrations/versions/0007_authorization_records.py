"""Authorization records from outside (a team's spreadsheet or another system) and the units
claim files billed against authorizations, for the claim check.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # member_id is ciphertext (PHI); member_id_index its blind index, as on authorization_requests.
    op.create_table(
        "imported_authorizations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column("authorization_number", sa.String(80), nullable=False),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("member_id_index", sa.String(64), nullable=False),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("rendering_npi", sa.String(10), nullable=True),
        sa.Column("facility_npi", sa.String(10), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        # A re-import of the same number for the same payer and member replaces the row.
        sa.UniqueConstraint(
            "organization_id",
            "payer_id",
            "member_id_index",
            "authorization_number",
            name="uq_imported_authorizations_key",
        ),
    )
    op.create_index(
        "ix_imported_authorizations_member",
        "imported_authorizations",
        ["organization_id", "member_id_index"],
    )

    # One row per claim line billed against an authorization (code "*" = all its codes).
    op.create_table(
        "authorization_usage",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column("authorization_number", sa.String(80), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("claim_id", sa.String(80), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.String(80), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "organization_id",
            "authorization_number",
            "claim_id",
            "line_number",
            name="uq_authorization_usage_line",
        ),
    )


def downgrade() -> None:
    op.drop_table("authorization_usage")
    op.drop_index("ix_imported_authorizations_member", table_name="imported_authorizations")
    op.drop_table("imported_authorizations")
