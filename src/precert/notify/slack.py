"""Post a Notice to a Slack channel through an incoming webhook (text fallback plus Block Kit).

The webhook URL is the credential (anyone holding it can post), so it is kept out of reprs and
error messages. The httpx client is passed in: production shares one, tests point it at a local
receiver.
"""

from __future__ import annotations

import httpx

from precert.notify.errors import error_for_status, error_for_transport
from precert.notify.notice import Notice

CHANNEL = "Slack"
# Slack refuses a section with more than 10 fields and header text over 150 characters.
MAX_FIELDS = 10
MAX_HEADER = 150


def slack_escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(notice: Notice) -> dict[str, object]:
    """The incoming-webhook JSON: `text` for notifications and old clients, `blocks` for display."""
    blocks: list[dict[str, object]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": notice.title[:MAX_HEADER], "emoji": False},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(notice.text)}},
    ]
    if notice.fields:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{slack_escape(k)}*\n{slack_escape(v)}"}
                    for k, v in list(notice.fields.items())[:MAX_FIELDS]
                ],
            }
        )
    if notice.link:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"<{notice.link}|Open in precert>"}],
            }
        )
    return {"text": f"{notice.title}: {notice.text}", "blocks": blocks}


class SlackNotifier:
    """Sends notices to one incoming webhook; raises NotifyError when Slack does not accept one."""

    def __init__(self, webhook_url: str, *, client: httpx.Client) -> None:
        self._url = webhook_url
        self._client = client

    def __repr__(self) -> str:
        return "SlackNotifier(webhook_url=<hidden>)"

    def send(self, notice: Notice) -> None:
        try:
            response = self._client.post(self._url, json=slack_payload(notice))
        except httpx.HTTPError as exc:
            # `from None`: the httpx exception's text and traceback can carry the secret URL.
            raise error_for_transport(CHANNEL, exc) from None
        if not response.is_success:
            raise error_for_status(CHANNEL, response.status_code)
