"""The work queue on SQLite and PostgreSQL: urgency order, filters, paging, tenant isolation,
decrypting only the names shown, the audit event per view, and (bulk) assignment."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from precert.errors import InvalidInput, NotFound, PermissionDenied
from precert.security.blind_index import BlindIndex
from precert.security.crypto import FieldCipher
from precert.services import accounts
from precert.services import authorization_requests as requests
from precert.services.accounts import Actor
from precert.services.audit import events_about, events_for
from precert.services.context import Context
from precert.services.queue import QueueFilters, assign, assignable_users, queue_page
from precert.store.queue import QueueFilter, QueueRepository
from precert.store.requests import RequestRepository

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
BODY: dict[str, Any] = {
    "payer_id": "medicare",
    "plan": "medicare-ffs",
    "state": "TX",
    "urgency": "standard",
    "patient": {
        "first_name": "Testpatient",
        "last_name": "Alpha",
        "birth_date": "1980-02-01",
        "member_id": "TEST-0001-A",
    },
    "ordering_npi": "1234567893",
    "rendering_npi": "1234567893",
    "services": [
        {"code": "15823", "units": 1, "pos": "22", "diagnoses": ["H02.831"], "from": "", "to": ""}
    ],
}


class Team:
    def __init__(self, ctx: Context, name: str) -> None:
        accounts.create_organization(ctx, name)
        slug = name.lower().replace(" ", "-")
        made: dict[str, Actor] = {}
        for role in ("admin", "specialist", "viewer"):
            email = f"{role}@{slug}.example.org"
            user_id = accounts.create_user(ctx, org=name, email=email, role=role, password=None)
            org = _org_of(ctx, user_id)
            made[role] = Actor(user_id, org, email, accounts.Role(role))
        self.admin, self.specialist, self.viewer = made["admin"], made["specialist"], made["viewer"]


def _org_of(ctx: Context, user_id: str) -> str:
    from precert.store.accounts import UserRepository

    with ctx.uow() as uow:
        user = UserRepository(uow.session).get(user_id)
        assert user is not None
        return user.organization_id


def _create(
    ctx: Context,
    actor: Actor,
    last_name: str,
    service: str,
    *,
    urgency: str = "standard",
    code: str = "15823",
) -> str:
    body = copy.deepcopy(BODY)
    body["patient"]["last_name"] = last_name
    body["urgency"] = urgency
    body["services"][0].update({"from": service, "to": service, "code": code})
    return requests.create_request(ctx, actor, body, now=NOW).id


def _flag(ctx: Context, actor: Actor, request_id: str, reason: str) -> None:
    with ctx.uow() as uow:
        repo = RequestRepository(
            uow.session,
            FieldCipher.from_settings(ctx.settings),
            BlindIndex.from_settings(ctx.settings),
        )
        request = repo.get(actor.organization_id, request_id)
        kept = repo.next_action_at(actor.organization_id, request_id)
        repo.save(replace(request, needs_attention=reason), next_action_at=kept)
        uow.commit()


@pytest.fixture
def clinic(any_ctx: Context) -> Team:
    any_ctx.now = lambda: NOW
    return Team(any_ctx, "North Clinic")


def _names(page: Any) -> list[str]:
    return [item.row.last_name for item in page.items]


def test_the_queue_is_sorted_by_urgency(any_ctx: Context, clinic: Team) -> None:
    actor = clinic.specialist
    _create(any_ctx, actor, "Later", "2026-12-20")
    _create(any_ctx, actor, "Expedited", "2026-12-25", urgency="expedited")
    _create(any_ctx, actor, "Soon", "2026-12-05")
    _create(any_ctx, actor, "Overdue", "2026-11-27")  # a week before: 2026-11-20, past
    flagged = _create(any_ctx, actor, "Flagged", "2026-12-30")
    _flag(any_ctx, actor, flagged, "The fax did not go through; resend it.")

    page = queue_page(any_ctx, actor, QueueFilters())

    assert _names(page) == ["Flagged", "Overdue", "Expedited", "Soon", "Later"]
    first = page.items[0]
    assert first.why == "The fax did not go through; resend it."
    assert first.row.first_name == "Testpatient"
    assert first.row.first_code == "15823"
    assert first.row.service_date == dt.date(2026, 12, 30)
    assert page.items[1].overdue is True
    assert page.items[3].why == "Attach the missing documents, then mark it ready"
    assert page.total == 5


def test_the_filters_narrow_the_queue(any_ctx: Context, clinic: Team) -> None:
    actor = clinic.specialist
    overdue = _create(any_ctx, actor, "Overdue", "2026-11-27")
    today = _create(any_ctx, actor, "Today", "2026-11-30")  # next action 2026-11-23 00:00
    week = _create(any_ctx, actor, "Week", "2026-12-04")  # next action 2026-11-27
    later = _create(any_ctx, actor, "Later", "2027-01-20")
    _flag(any_ctx, actor, later, "Payer phone line changed; call the new number.")
    assign(any_ctx, clinic.admin, [week], clinic.specialist.email)
    assign(any_ctx, clinic.admin, [today], clinic.admin.email)
    requests.mark_ready(any_ctx, actor, overdue, override_reason="notes faxed separately")

    def names(**filters: Any) -> set[str]:
        return set(_names(queue_page(any_ctx, actor, QueueFilters(**filters))))

    assert names(due="attention") == {"Later"}
    # The midnight next action of "Today" is already past at 15:00, so it is overdue too.
    assert names(due="overdue") == {"Overdue", "Today"}
    assert names(due="today") == {"Overdue", "Today"}
    assert names(due="week") == {"Overdue", "Today", "Week"}
    assert names(assignee="me") == {"Week"}
    assert names(assignee=clinic.admin.user_id) == {"Today"}
    assert names(assignee="unassigned") == {"Overdue", "Later"}
    assert names(statuses=("ready",)) == {"Overdue"}
    assert names(statuses=("ready", "draft")) == {"Overdue", "Today", "Week", "Later"}
    assert names(payer="medicare") == {"Overdue", "Today", "Week", "Later"}
    assert names(payer="web-test-payer") == set()
    requests.cancel_request(any_ctx, actor, later, "duplicate")
    assert "Later" not in names()  # closed requests leave the open queue
    assert names(statuses=("cancelled",)) == {"Later"}


def test_a_bad_filter_says_what_to_use(any_ctx: Context, clinic: Team) -> None:
    with pytest.raises(InvalidInput) as refused:
        queue_page(any_ctx, clinic.specialist, QueueFilters(due="tomorrow"))
    assert refused.value.message == (
        "due: 'tomorrow' is not a due window; use one of overdue, today, week, attention."
    )
    with pytest.raises(InvalidInput) as refused:
        queue_page(any_ctx, clinic.specialist, QueueFilters(statuses=("open",)))
    assert refused.value.issues[0].location == "status"


def test_pages_hold_fifty_and_the_total_counts_them_all(any_ctx: Context, clinic: Team) -> None:
    for i in range(53):
        _create(any_ctx, clinic.specialist, f"Patient{i:02d}", f"2026-12-{1 + i % 28:02d}")
    first = queue_page(any_ctx, clinic.specialist, QueueFilters(), 1)
    second = queue_page(any_ctx, clinic.specialist, QueueFilters(), 2)
    assert (len(first.items), len(second.items)) == (50, 3)
    assert first.total == second.total == 53
    assert first.pages == 2
    shown = [item.row.id for item in first.items + second.items]
    assert len(set(shown)) == 53
    dates = [item.row.service_date for item in first.items + second.items]
    assert dates == sorted(d for d in dates if d is not None)


def test_another_organizations_requests_never_show(any_ctx: Context, clinic: Team) -> None:
    south = Team(any_ctx, "South Clinic")
    _create(any_ctx, clinic.specialist, "North", "2026-12-10")
    _create(any_ctx, south.specialist, "South", "2026-12-10")
    page = queue_page(any_ctx, clinic.viewer, QueueFilters())
    assert _names(page) == ["North"]
    assert page.total == 1
    assert [u.email for u in assignable_users(any_ctx, clinic.viewer)] == [
        "admin@north-clinic.example.org",
        "specialist@north-clinic.example.org",
    ]


class CountingCipher:
    """The real cipher, counting how many values it decrypts."""

    def __init__(self, inner: FieldCipher) -> None:
        self.inner = inner
        self.decrypted = 0

    def decrypt(self, token: str, *, context: str) -> str:
        self.decrypted += 1
        return self.inner.decrypt(token, context=context)


def test_only_the_names_on_the_page_are_decrypted(any_ctx: Context, clinic: Team) -> None:
    for i in range(55):
        _create(any_ctx, clinic.specialist, f"Patient{i:02d}", "2026-12-10")
    cipher = CountingCipher(FieldCipher.from_settings(any_ctx.settings))
    with any_ctx.uow() as uow:
        found = QueueRepository(uow.session, cipher).page(  # type: ignore[arg-type]
            clinic.specialist.organization_id, QueueFilter(), now=NOW, limit=20
        )
    assert found.total == 55
    assert len(found.rows) == 20
    assert cipher.decrypted == 40  # first and last name of the 20 rows shown, no more
    assert "Patient" not in repr(found.rows[0])


def test_each_view_of_the_queue_is_audited(any_ctx: Context, clinic: Team) -> None:
    _create(any_ctx, clinic.specialist, "Alpha", "2026-12-10")
    queue_page(any_ctx, clinic.viewer, QueueFilters())
    events = events_for(any_ctx, clinic.viewer.organization_id, limit=5)
    viewed = [e for e in events if e.actor == clinic.viewer.email]
    assert len(viewed) == 1
    assert (viewed[0].action, viewed[0].entity, viewed[0].reason) == (
        "list",
        "authorization_request",
        "queue page 1: 1 shown",
    )


def test_bulk_assignment_changes_each_request_with_a_timeline_event(
    any_ctx: Context, clinic: Team
) -> None:
    ids = [_create(any_ctx, clinic.specialist, f"P{i}", "2026-12-10") for i in range(3)]
    changed = assign(any_ctx, clinic.admin, ids, clinic.specialist.email)
    assert changed == ids
    for request_id in ids:
        detail = requests.get_request(any_ctx, clinic.admin, request_id)
        assert detail.request.assignee == clinic.specialist.user_id
        event = detail.timeline[-1]
        assert (event.kind, event.note) == ("assigned", "assigned to " + clinic.specialist.email)
        audits = [e.reason for e in events_about(any_ctx, "authorization_request", request_id)]
        assert "assigned" in audits
    # Assigned already: nothing changes, no new event.
    assert assign(any_ctx, clinic.admin, ids, clinic.specialist.user_id) == []
    assert assign(any_ctx, clinic.admin, ids[:1], None) == ids[:1]
    assert requests.get_request(any_ctx, clinic.admin, ids[0]).request.assignee is None


def test_assignment_is_all_or_nothing(any_ctx: Context, clinic: Team) -> None:
    south = Team(any_ctx, "South Clinic")
    mine = _create(any_ctx, clinic.specialist, "Mine", "2026-12-10")
    theirs = _create(any_ctx, south.specialist, "Theirs", "2026-12-10")
    with pytest.raises(NotFound) as refused:
        assign(any_ctx, clinic.admin, [mine, theirs], clinic.specialist.email)
    assert refused.value.message == (
        f"No authorization request {theirs} in your organization; nothing was assigned. "
        "Check the ids and try again."
    )
    assert requests.get_request(any_ctx, clinic.admin, mine).request.assignee is None


def test_assignment_refuses_people_who_cannot_take_it(any_ctx: Context, clinic: Team) -> None:
    south = Team(any_ctx, "South Clinic")
    request_id = _create(any_ctx, clinic.specialist, "Alpha", "2026-12-10")
    with pytest.raises(PermissionDenied) as denied:
        assign(any_ctx, clinic.viewer, [request_id], clinic.specialist.email)
    assert denied.value.message == "viewers cannot assign requests; ask an admin or a specialist"
    with pytest.raises(InvalidInput) as refused:
        assign(any_ctx, clinic.admin, [request_id], south.specialist.email)
    assert refused.value.message == (
        "assignee: nobody in your organization is 'specialist@south-clinic.example.org'; "
        "choose a user of your organization (their email or id)."
    )
    with pytest.raises(InvalidInput) as refused:
        assign(any_ctx, clinic.admin, [request_id], clinic.viewer.email)
    assert refused.value.message == (
        "assignee: viewer@north-clinic.example.org is a viewer and cannot work requests; "
        "choose an admin or a specialist."
    )
    with pytest.raises(InvalidInput) as refused:
        assign(any_ctx, clinic.admin, [], clinic.admin.email)
    assert refused.value.issues[0].location == "request_ids"


def test_small_pages_walk_the_urgency_tiers_in_order(any_ctx: Context, clinic: Team) -> None:
    actor = clinic.specialist
    made = {
        "Later": _create(any_ctx, actor, "Later", "2026-12-20"),
        "Expedited": _create(any_ctx, actor, "Expedited", "2026-12-25", urgency="expedited"),
        "Expedited2": _create(any_ctx, actor, "Expedited2", "2026-12-26", urgency="expedited"),
        "Soon": _create(any_ctx, actor, "Soon", "2026-12-05"),
        "Overdue": _create(any_ctx, actor, "Overdue", "2026-11-27"),
        "OverdueExp": _create(any_ctx, actor, "OverdueExp", "2026-11-29", urgency="expedited"),
        "Flagged": _create(any_ctx, actor, "Flagged", "2026-12-30"),
        "FlaggedSoon": _create(any_ctx, actor, "FlaggedSoon", "2026-11-28"),
    }
    _flag(any_ctx, actor, made["Flagged"], "Call the payer back.")
    _flag(any_ctx, actor, made["FlaggedSoon"], "Call the payer back.")
    expected = [
        "FlaggedSoon",  # attention and overdue
        "Flagged",
        "OverdueExp",  # overdue, expedited first
        "Overdue",
        "Expedited",
        "Expedited2",
        "Soon",
        "Later",
    ]
    assert _names(queue_page(any_ctx, actor, QueueFilters())) == expected
    cipher = FieldCipher.from_settings(any_ctx.settings)
    for size in (1, 2, 3, 5):
        walked: list[str] = []
        with any_ctx.uow() as uow:
            repo = QueueRepository(uow.session, cipher)
            for offset in range(0, 10, size):
                found = repo.page(
                    actor.organization_id, QueueFilter(), now=NOW, offset=offset, limit=size
                )
                assert found.total == 8
                walked.extend(row.last_name for row in found.rows)
        assert walked == expected, f"pages of {size}"
