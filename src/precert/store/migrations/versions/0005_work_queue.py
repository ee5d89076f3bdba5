"""The work queue: each request's first service date (the queue sorts by it), browser sessions,
and the notification delivery log.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The work queue's indexes (store/queue.py reads its four urgency tiers from them). On PostgreSQL
# they cover the columns the queue filters and sorts by, so a page reads index entries only.
QUEUE_INDEXES: list[tuple[str, list[str], list[str], str | None]] = [
    (
        "ix_requests_attention",
        ["organization_id", "status"],
        ["urgency", "service_date", "next_action_at", "payer_id", "assignee_id", "id"],
        "needs_attention IS NOT NULL",
    ),
    (
        "ix_requests_due",
        ["organization_id", "next_action_at"],
        ["status", "urgency", "service_date", "needs_attention", "payer_id", "assignee_id", "id"],
        None,
    ),
    (
        "ix_requests_urgency_order",
        ["organization_id", "urgency", "service_date", "next_action_at", "id"],
        ["status", "needs_attention", "payer_id", "assignee_id"],
        None,
    ),
]


def upgrade() -> None:
    # The earliest from-date of a request's lines, kept on the request so the queue can sort and
    # filter by it with an index instead of joining every line of every request.
    with op.batch_alter_table("authorization_requests") as batch:
        batch.add_column(sa.Column("service_date", sa.Date(), nullable=True))
    op.execute(
        "UPDATE authorization_requests SET service_date = ("
        "SELECT MIN(service_lines.from_date) FROM service_lines "
        "WHERE service_lines.request_id = authorization_requests.id)"
    )
    op.create_index(
        "ix_requests_org_service_date",
        "authorization_requests",
        ["organization_id", "service_date"],
    )
    op.create_index(
        "ix_requests_org_assignee", "authorization_requests", ["organization_id", "assignee_id"]
    )
    for name, columns, include, where in QUEUE_INDEXES:
        partial = None if where is None else sa.text(where)
        op.create_index(
            name,
            "authorization_requests",
            columns,
            postgresql_include=include,
            postgresql_where=partial,
            sqlite_where=partial,
        )

    # A browser session: the cookie carries a random token, the table only its SHA-256 digest.
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column(
            "organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        # False between the password and the authenticator code of a two-step login.
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])

    # One row per notice sent (or tried): the same id on every retry, so receivers can dedupe.
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "organization_id", sa.String(36), sa.ForeignKey("organizations.id"), nullable=False
        ),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("event", sa.String(60), nullable=False),
        sa.Column("request_id", sa.String(36), nullable=True),
        # What makes a notice the same notice (e.g. request + work item + day): sent once.
        sa.Column("dedupe_key", sa.String(200), nullable=True, unique=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        # The notice itself (ids, statuses, dates and a link; never PHI), so a delivery is
        # self-contained: a lost job is re-sent from this row by the next sweep.
        sa.Column("notice", sa.JSON(), nullable=False),
        # When the next attempt is due (None once delivered or failed for good).
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_deliveries_org_created", "notification_deliveries", ["organization_id", "created_at"]
    )
    op.create_index("ix_deliveries_next_attempt", "notification_deliveries", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_next_attempt", table_name="notification_deliveries")
    op.drop_index("ix_deliveries_org_created", table_name="notification_deliveries")
    op.drop_table("notification_deliveries")
    op.drop_index("ix_web_sessions_user_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    for name, *_ in reversed(QUEUE_INDEXES):
        op.drop_index(name, table_name="authorization_requests")
    op.drop_index("ix_requests_org_assignee", table_name="authorization_requests")
    op.drop_index("ix_requests_org_service_date", table_name="authorization_requests")
    with op.batch_alter_table("authorization_requests") as batch:
        batch.drop_column("service_date")
