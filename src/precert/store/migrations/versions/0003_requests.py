"""Authorization requests, their service lines and timeline events (PHI columns hold ciphertext).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "authorization_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("plan", sa.String(80), nullable=False),
        sa.Column("state", sa.String(2), nullable=True),
        sa.Column("retro", sa.Boolean(), nullable=False),
        sa.Column("needs_attention", sa.Text(), nullable=True),
        sa.Column("assignee_id", sa.String(36), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("ordering_npi", sa.String(10), nullable=False),
        sa.Column("rendering_npi", sa.String(10), nullable=False),
        sa.Column("facility_npi", sa.String(10), nullable=True),
        # Ciphertext ("v1.<key id>.<data>"), never plain text: see precert.store.requests.
        sa.Column("patient_first_name", sa.Text(), nullable=False),
        sa.Column("patient_last_name", sa.Text(), nullable=False),
        sa.Column("patient_birth_date", sa.Text(), nullable=False),
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("group_number", sa.Text(), nullable=True),
        sa.Column("member_id_index", sa.String(64), nullable=False),
        sa.Column("requirement", sa.JSON(), nullable=False),
        sa.Column("awaiting_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("info_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_action_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=True),
        sa.UniqueConstraint("organization_id", "idempotency_key", name="uq_requests_idempotency"),
    )
    _index("ix_authorization_requests_organization_id", "organization_id")
    _index("ix_authorization_requests_member_id_index", "member_id_index")
    _index("ix_authorization_requests_next_action_at", "next_action_at")
    _index("ix_requests_org_status", "organization_id", "status")
    op.create_table(
        "service_lines",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "request_id", sa.String(36), sa.ForeignKey("authorization_requests.id"), nullable=False
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("pos", sa.String(2), nullable=False),
        sa.Column("diagnoses", sa.JSON(), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("to_date", sa.Date(), nullable=False),
    )
    op.create_index("ix_service_lines_request_id", "service_lines", ["request_id"])
    op.create_table(
        "timeline_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "request_id", sa.String(36), sa.ForeignKey("authorization_requests.id"), nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("from_status", sa.String(32), nullable=False),
        sa.Column("to_status", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_timeline_events_request_id", "timeline_events", ["request_id"])


def _index(name: str, *columns: str) -> None:
    op.create_index(name, "authorization_requests", list(columns))


def downgrade() -> None:
    op.drop_index("ix_timeline_events_request_id", "timeline_events")
    op.drop_table("timeline_events")
    op.drop_index("ix_service_lines_request_id", "service_lines")
    op.drop_table("service_lines")
    for name in (
        "ix_requests_org_status",
        "ix_authorization_requests_next_action_at",
        "ix_authorization_requests_member_id_index",
        "ix_authorization_requests_organization_id",
    ):
        op.drop_index(name, "authorization_requests")
    op.drop_table("authorization_requests")
