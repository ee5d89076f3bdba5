"""Notifications: turn follow-up work items and recorded decisions into notices, log one delivery
per configured outlet (Slack, each webhook subscriber, email), and make one delivery attempt.

Planning writes `notification_deliveries` rows in the caller's transaction (an outbox) with a
dedupe key, so a repeated sweep never notifies twice for the same work item on the same day.
Delivering is one attempt per job: a transient failure sets the next attempt's time (backoff), a
permanent one marks the delivery failed and logs it; neither raises. Notices never carry PHI.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm import Session

from precert.config import Settings
from precert.domain.authorizations import AuthorizationRequest, Status
from precert.domain.followups import WorkItem, WorkKind
from precert.notify.email import EmailNotifier, SmtpConfig
from precert.notify.errors import NotifyError
from precert.notify.notice import Notice
from precert.notify.slack import SlackNotifier
from precert.notify.webhook import RetryPolicy, Subscriber, WebhookSender
from precert.services.context import Context
from precert.store.deliveries import DELIVERED, FAILED, PENDING, Delivery, DeliveryRepository

log = logging.getLogger(__name__)

# Attempts are driven by the database (next_attempt_at), picked up by the per-minute sweep:
# 1, 2, 4, 8 and 16 minutes apart, then the delivery is given up as failed (about half an hour).
RETRY = RetryPolicy(max_attempts=6, base_delay=60.0, factor=2.0, max_delay=3600.0)
HTTP_TIMEOUT = 10.0
DECISIONS = {
    Status.APPROVED: "approved",
    Status.PARTIALLY_APPROVED: "partially approved",
    Status.DENIED: "denied",
}
WORK_TITLES = {
    WorkKind.PENDED_PAST_TURNAROUND: "Pended past turnaround",
    WorkKind.INFO_REQUESTED: "Information requested",
    WorkKind.APPROVAL_EXPIRES_BEFORE_SERVICE: "Approval expires before the service",
    WorkKind.UNITS_NEARLY_USED: "Approved units nearly used",
    WorkKind.SERVICE_SOON_WITHOUT_APPROVAL: "Service soon without approval",
    WorkKind.DECISION_OVERDUE: "Decision overdue",
}


@dataclass(frozen=True, slots=True)
class Outlet:
    """A configured place to send notices. `target` names it in the log without its secret URL;
    `fingerprint` (a hash of the URL or recipients) tells two subscribers apart in dedupe keys."""

    channel: str
    target: str
    fingerprint: str


def outlets(settings: Settings) -> list[Outlet]:
    """Every outlet the settings configure; none configured means nothing is ever sent."""
    found = []
    if settings.slack_webhook_url is not None:
        url = settings.slack_webhook_url.get_secret_value()
        found.append(Outlet("slack", f"slack {_host(url)} #{_hash(url)}", _hash(url)))
    for hook in settings.webhooks:
        url = hook.url.get_secret_value()
        found.append(Outlet("webhook", f"webhook {_host(url)} #{_hash(url)}", _hash(url)))
    if settings.smtp_host and settings.notify_email_to:
        recipients = ",".join(sorted(settings.notify_email_to))
        count = len(settings.notify_email_to)
        found.append(
            Outlet("email", f"email {count} recipient(s) #{_hash(recipients)}", _hash(recipients))
        )
    return found


# -- notices (no PHI: ids, payer, codes, status, dates of work, a link) ---------------------------


def work_item_notice(request: AuthorizationRequest, item: WorkItem, *, base_url: str) -> Notice:
    """The notice for a work item the follow-up sweep raised on `request`."""
    fields = _facts(request)
    fields["Due"] = f"{item.due_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
    return Notice(
        kind=f"work_item.{item.kind.value}",
        title=f"{WORK_TITLES[item.kind]}: request {request.id[:8]}",
        text=item.message,
        link=request_link(base_url, request.id),
        fields=fields,
    )


def decision_notice(request: AuthorizationRequest, *, base_url: str) -> Notice:
    """The notice for a payer decision just recorded on `request`."""
    words = DECISIONS[request.status]
    return Notice(
        kind=f"request.{request.status.value}",
        title=f"Request {request.id[:8]} {words}",
        text=f"The payer's decision was recorded: {words} ({request.coverage.payer_id}).",
        link=request_link(base_url, request.id),
        fields=_facts(request),
    )


def request_link(base_url: str, request_id: str) -> str:
    return f"{base_url.rstrip('/')}/requests/{request_id}"


def _facts(request: AuthorizationRequest) -> dict[str, str]:
    codes = ", ".join(dict.fromkeys(line.code for line in request.lines))
    return {
        "Request": request.id,
        "Payer": request.coverage.payer_id,
        "Codes": codes,
        "Status": request.status.value,
    }


# -- planning (inside the caller's transaction) ---------------------------------------------------


def plan_work_item(
    session: Session,
    settings: Settings,
    request: AuthorizationRequest,
    item: WorkItem,
    *,
    at: dt.datetime,
) -> list[str]:
    """Log a pending delivery of this work item's notice per outlet, once per request, kind and
    day; returns the new delivery ids (to enqueue after the caller commits)."""
    notice = work_item_notice(request, item, base_url=settings.base_url)
    once = f"{request.id}:{notice.kind}:{at.astimezone(dt.UTC).date().isoformat()}"
    return _plan(session, settings, notice, request, once=once, at=at)


def plan_decision(
    session: Session, settings: Settings, request: AuthorizationRequest, *, at: dt.datetime
) -> list[str]:
    """Log a pending delivery of the decision notice per outlet (nothing for other statuses)."""
    if request.status not in DECISIONS:
        return []
    notice = decision_notice(request, base_url=settings.base_url)
    once = f"{request.id}:{notice.kind}:{at.astimezone(dt.UTC).isoformat()}"
    return _plan(session, settings, notice, request, once=once, at=at)


def notify_decision(ctx: Context, request: AuthorizationRequest, *, at: dt.datetime) -> list[str]:
    """plan_decision in a transaction of its own, for a decision already committed. The deliveries
    are sent by the worker (its sweep enqueues every due delivery each minute)."""
    with ctx.uow() as uow:
        planned = plan_decision(uow.session, ctx.settings, request, at=at)
        uow.commit()
    return planned


def _plan(
    session: Session,
    settings: Settings,
    notice: Notice,
    request: AuthorizationRequest,
    *,
    once: str,
    at: dt.datetime,
) -> list[str]:
    if notice.kind not in settings.notify_events:
        return []
    repo = DeliveryRepository(session)
    planned = []
    for outlet in outlets(settings):
        key = f"{once}:{outlet.fingerprint}"
        if repo.has_key(key):
            continue  # already notified through this outlet (a re-run of the same sweep)
        delivery = Delivery(
            id=str(uuid.uuid4()),
            organization_id=request.organization_id,
            channel=outlet.channel,
            target=outlet.target,
            event=notice.kind,
            request_id=request.id,
            dedupe_key=key,
            notice=notice.as_dict(),
            created_at=at,
            next_attempt_at=at,
        )
        repo.add(delivery)
        planned.append(delivery.id)
    return planned


# -- delivering (one attempt per job) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str = ""
    retryable: bool = False


def due_deliveries(ctx: Context, *, now: dt.datetime, limit: int = 500) -> list[str]:
    """Ids of deliveries whose next attempt is due: new, retries, and any whose job was lost."""
    with ctx.uow() as uow:
        return DeliveryRepository(uow.session).due(now, limit)


def deliver(ctx: Context, delivery_id: str, *, now: dt.datetime) -> Delivery:
    """Make one attempt if the delivery is due, and log how it went; never raises for a failed
    send (a repeated or early job changes nothing)."""
    with ctx.uow() as uow:
        delivery = DeliveryRepository(uow.session).get(delivery_id)
    due = delivery.next_attempt_at
    if delivery.status != PENDING or due is None or due > now:
        return delivery
    outcome = _send(ctx.settings, delivery)
    attempts = delivery.attempts + 1
    retry = not outcome.ok and outcome.retryable and attempts < RETRY.max_attempts
    status = DELIVERED if outcome.ok else PENDING if retry else FAILED
    following = now + dt.timedelta(seconds=RETRY.delay_after(attempts)) if retry else None
    with ctx.uow() as uow:
        logged = DeliveryRepository(uow.session).record_attempt(
            delivery_id,
            status=status,
            response_status=outcome.status_code,
            error=outcome.error or None,
            next_attempt_at=following,
            finished_at=None if retry else now,
        )
        uow.commit()
    if status == FAILED:
        # The message names the outlet kind and the receiver's answer, never its URL or content.
        log.warning(
            "notification %s (%s, %s) failed after %d attempt(s): %s",
            delivery_id,
            delivery.channel,
            delivery.event,
            attempts,
            outcome.error,
        )
    return logged


def _send(settings: Settings, delivery: Delivery) -> Outcome:
    outlet = next((o for o in outlets(settings) if o.target == delivery.target), None)
    if outlet is None:
        return Outcome(False, error=f"The {delivery.channel} outlet is no longer configured.")
    notice = _notice(delivery)
    if outlet.channel == "webhook":
        return _send_webhook(settings, outlet, delivery, notice)
    try:
        if outlet.channel == "slack":
            assert settings.slack_webhook_url is not None  # an outlet exists only when set
            with httpx.Client(timeout=HTTP_TIMEOUT) as client:
                SlackNotifier(settings.slack_webhook_url.get_secret_value(), client=client).send(
                    notice
                )
        else:
            EmailNotifier(smtp_config(settings), settings.notify_email_to).send(notice)
    except NotifyError as failed:
        return Outcome(False, _status_of(failed), failed.message, failed.retryable)
    return Outcome(True)


def _send_webhook(
    settings: Settings, outlet: Outlet, delivery: Delivery, notice: Notice
) -> Outcome:
    hook = next(
        h for h in settings.webhooks if _hash(h.url.get_secret_value()) == outlet.fingerprint
    )
    subscriber = Subscriber(hook.url.get_secret_value(), hook.secret.get_secret_value())
    with httpx.Client(timeout=HTTP_TIMEOUT) as client:
        sender = WebhookSender(client, policy=RetryPolicy(max_attempts=1))
        [attempt] = sender.deliver(
            subscriber,
            notice.kind,
            notice.as_dict(),
            delivery_id=delivery.id,
            created_at=delivery.created_at,
        )
    return Outcome(attempt.ok, attempt.status_code, attempt.error, attempt.retryable)


def smtp_config(settings: Settings) -> SmtpConfig:
    """The SMTP settings as the email notifier takes them (only called when SMTP is set)."""
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
    return SmtpConfig(
        host=settings.smtp_host or "",
        port=settings.smtp_port,
        sender=settings.smtp_from or "",
        starttls=settings.smtp_starttls,
        implicit_tls=settings.smtp_implicit_tls,
        username=settings.smtp_username,
        password=password,
    )


def deliveries_of(
    ctx: Context, organization_id: str, *, request_id: str | None = None
) -> list[Delivery]:
    """The delivery log of an organization (or one of its requests), oldest first."""
    with ctx.uow() as uow:
        return DeliveryRepository(uow.session).of_organization(
            organization_id, request_id=request_id
        )


def _notice(delivery: Delivery) -> Notice:
    stored = delivery.notice
    fields = stored.get("fields") or {}
    return Notice(
        kind=str(stored.get("kind", delivery.event)),
        title=str(stored.get("title", "")),
        text=str(stored.get("text", "")),
        link=str(stored.get("link", "")),
        fields={str(k): str(v) for k, v in dict(fields).items()},
    )


def _status_of(failed: NotifyError) -> int | None:
    code = failed.issues[0].code if failed.issues else ""
    return int(code[5:]) if code.startswith("http-") and code[5:].isdigit() else None


def _host(url: str) -> str:
    return urlsplit(url).netloc.rsplit("@", 1)[-1][:80]


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]
