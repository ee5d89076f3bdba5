"""Notice: the one value every notifier sends — what happened, to which request, where to look.

Notices carry no PHI by design: ids, statuses, payer ids, dates of work and links into precert
only — never patient names, dates of birth, member ids or clinical text. Slack channels, webhook
receivers and mailboxes are outside precert's encryption and audit, so whoever builds a notice
(a service) puts in it only what may leave; the link is where a signed-in person sees the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Notice:
    """What happened (`kind`, e.g. "request.approved"), a headline, a sentence, a link, facts."""

    kind: str
    title: str
    text: str
    link: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """The JSON shape webhook receivers get as `data`."""
        return {
            "kind": self.kind,
            "title": self.title,
            "text": self.text,
            "link": self.link,
            "fields": dict(self.fields),
        }
