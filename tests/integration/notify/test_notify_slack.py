"""Slack incoming-webhook posts against a real HTTP receiver on 127.0.0.1 standing in for Slack."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from tests.integration.notify.receivers import closed_port_url, http_receiver

from precert.notify.errors import NotifyError
from precert.notify.notice import Notice
from precert.notify.slack import SlackNotifier

NOTICE = Notice(
    kind="followup.due",
    title="Follow-up due on AR-2001",
    text="Pended 8 days at Acme <Health> & Co; past the 7-day turnaround.",
    link="https://precert.example.test/requests/AR-2001",
    fields={"Request": "AR-2001", "Status": "pended", "Due": "2026-11-23"},
)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as c:
        yield c


def test_a_notice_is_posted_as_text_plus_blocks_with_fields_and_a_link(
    client: httpx.Client,
) -> None:
    with http_receiver(200) as slack:
        SlackNotifier(slack.url, client=client).send(NOTICE)
    [request] = slack.requests
    assert request.headers["content-type"] == "application/json"
    payload = json.loads(request.body)
    assert payload["text"] == f"{NOTICE.title}: {NOTICE.text}"
    header, section, facts, context = payload["blocks"]
    assert header["text"] == {"type": "plain_text", "text": NOTICE.title, "emoji": False}
    # Slack mrkdwn treats <, > and & as markup, so they arrive escaped.
    assert section["text"]["text"] == (
        "Pended 8 days at Acme &lt;Health&gt; &amp; Co; past the 7-day turnaround."
    )
    assert [f["text"] for f in facts["fields"]] == [
        "*Request*\nAR-2001",
        "*Status*\npended",
        "*Due*\n2026-11-23",
    ]
    assert context["elements"][0]["text"] == f"<{NOTICE.link}|Open in precert>"


def test_a_notice_without_fields_or_link_is_just_a_header_and_a_section(
    client: httpx.Client,
) -> None:
    with http_receiver(200) as slack:
        SlackNotifier(slack.url, client=client).send(Notice("sweep.done", "Sweep done", "0 due."))
    blocks = json.loads(slack.requests[0].body)["blocks"]
    assert [block["type"] for block in blocks] == ["header", "section"]


def test_slack_refusing_the_post_raises_a_non_retryable_error_without_the_url(
    client: httpx.Client,
) -> None:
    with http_receiver(404) as slack, pytest.raises(NotifyError) as refused:
        SlackNotifier(slack.url, client=client).send(NOTICE)
    assert str(refused.value) == (
        "The Slack receiver answered HTTP 404; "
        "check the receiver's URL and configuration; retrying will not help."
    )
    assert not refused.value.retryable
    assert slack.url not in repr(refused.value)


def test_slack_failing_or_rate_limiting_raises_a_retryable_error(client: httpx.Client) -> None:
    for status in (500, 429):
        with http_receiver(status) as slack, pytest.raises(NotifyError) as failed:
            SlackNotifier(slack.url, client=client).send(NOTICE)
        assert failed.value.retryable
        assert failed.value.issues[0].code == f"http-{status}"


def test_slack_unreachable_raises_a_retryable_error_that_hides_the_webhook_url(
    client: httpx.Client,
) -> None:
    url = closed_port_url()
    notifier = SlackNotifier(url, client=client)
    with pytest.raises(NotifyError) as unreachable:
        notifier.send(NOTICE)
    assert str(unreachable.value) == (
        "Could not reach the Slack receiver (ConnectError); it will be retried."
    )
    assert unreachable.value.retryable
    assert unreachable.value.__cause__ is None
    assert url not in repr(notifier)


def test_a_webhook_url_that_is_not_http_is_a_settings_error() -> None:
    with httpx.Client() as client, pytest.raises(NotifyError) as bad:
        SlackNotifier("hooks.slack.example/T000", client=client).send(NOTICE)
    assert str(bad.value) == "The Slack URL is not a valid http(s) URL; fix it in the settings."
    assert not bad.value.retryable
