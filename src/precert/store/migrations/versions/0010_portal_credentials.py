"""Portal credentials (issue 6): logins, authenticator secrets and IMAP settings as ciphertext,
and one lease row per credential so one login is never used by two runs at once.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_credentials",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("password", sa.Text(), nullable=True),
        sa.Column("totp_secret", sa.Text(), nullable=True),
        sa.Column("imap_host", sa.String(255), nullable=True),
        sa.Column("imap_port", sa.Integer(), nullable=True),
        sa.Column("imap_security", sa.String(10), nullable=True),
        sa.Column("imap_username", sa.Text(), nullable=True),
        sa.Column("imap_password", sa.Text(), nullable=True),
        sa.Column("imap_folder", sa.String(200), nullable=True),
        sa.Column("imap_sender", sa.String(320), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("organization_id", "name", name="uq_portal_credentials_org_name"),
    )
    op.create_index(
        "ix_portal_credentials_organization_id", "portal_credentials", ["organization_id"]
    )
    op.create_table(
        "credential_leases",
        sa.Column(
            "credential_id",
            sa.String(36),
            sa.ForeignKey("portal_credentials.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("credential_leases")
    op.drop_index("ix_portal_credentials_organization_id", table_name="portal_credentials")
    op.drop_table("portal_credentials")
