"""Documents attached to authorization requests (the bytes are encrypted files; the filename is
ciphertext).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column(
            "request_id", sa.String(36), sa.ForeignKey("authorization_requests.id"), nullable=False
        ),
        sa.Column("kind", sa.Text(), nullable=False),
        # Ciphertext ("v1.<key id>.<data>"): a filename may name the patient.
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("media_type", sa.String(40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_by", sa.String(255), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_documents_organization_id", "documents", ["organization_id"])
    op.create_index("ix_documents_request_id", "documents", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_documents_request_id", "documents")
    op.drop_index("ix_documents_organization_id", "documents")
    op.drop_table("documents")
