"""The channel registry: one line per channel, and how a request's channel is chosen.

Which payer uses which channel is data: the payer pack's `channels` (captured in the request's
requirement answer) list the payer's ways in, in order of preference; the first one precert has a
channel for, and is set up to use, wins, unless the caller names one. A pack's "phone" is done by a
person: `manual`. The electronic channels need settings a pack cannot give: `x12` a clearinghouse
(PRECERT_X12_URL or PRECERT_X12_DROP_DIR), `fhir-pas` the payer's registered FHIR endpoint
(PRECERT_PAS_ENDPOINTS), `portal` an SOP and the portal's address (PRECERT_PORTALS); without them
the payer's next way in is used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

from precert.channels.base import Channel, Destination
from precert.channels.fax.channel import FaxChannel, FaxIdentity
from precert.channels.fax.outbox import OutboxFaxSender
from precert.channels.fhir.channel import pas_channel
from precert.channels.manual import ManualChannel
from precert.channels.portal.channel import portal_channel
from precert.channels.x12.channel import x12_channel
from precert.config import Settings
from precert.domain.authorizations import AuthorizationRequest
from precert.errors import ChannelMisconfigured, Issue

Clock = Callable[[], dt.datetime]
Factory = Callable[[Settings, Clock], Channel]

CHANNELS: Mapping[str, Factory] = {
    "manual": lambda settings, clock: ManualChannel(clock=clock),
    "fax": lambda settings, clock: FaxChannel(
        OutboxFaxSender(settings.data_dir / "fax-outbox", clock=clock),
        FaxIdentity(
            settings.fax_sender_name, settings.fax_sender_phone, settings.fax_sender_number
        ),
        clock=clock,
    ),
    "x12": x12_channel,
    "fhir-pas": pas_channel,
    "portal": portal_channel,
}
# A payer pack's channel type -> the registered channel that serves it.
PACK_TYPES: Mapping[str, str] = {
    "fax": "fax",
    "phone": "manual",
    "x12": "x12",
    "fhir-pas": "fhir-pas",
    "portal": "portal",
}
ELECTRONIC = frozenset({"x12", "fhir-pas", "portal"})


def set_up(name: str, request: AuthorizationRequest, settings: Settings | None) -> bool:
    """Whether this installation can use channel `name` for `request`'s payer (always, for the
    channels that need no contract: manual and fax)."""
    if name not in ELECTRONIC:
        return True
    if settings is None:
        return False
    if name == "x12":
        return bool(settings.x12_url or settings.x12_drop_dir)
    if name == "portal":  # an SOP and the portal's address for this payer (PRECERT_PORTALS)
        sop, _, base_url = settings.portals.get(request.coverage.payer_id, "").partition("@")
        return bool(sop and base_url)
    return request.coverage.payer_id in settings.pas_endpoints


def channel_named(name: str, settings: Settings, *, clock: Clock) -> Channel:
    """The registered channel `name`, built on `settings`; ChannelMisconfigured when unknown."""
    factory = CHANNELS.get(name)
    if factory is None:
        message = f"channel: {name!r} is not a channel; use one of {', '.join(sorted(CHANNELS))}."
        raise ChannelMisconfigured(message, [Issue("unknown-channel", message, "channel")])
    return factory(settings, clock)


def payer_channels(request: AuthorizationRequest) -> list[Destination]:
    """The payer's ways in for this request, in the pack's order, each once (over all lines)."""
    seen: dict[tuple[str, str], Destination] = {}
    for answer in request.requirement:
        for entry in answer.get("channels") or ():
            values = (str(entry.get(key, "")) for key in ("type", "address", "note", "pended"))
            destination = Destination(*values)
            seen.setdefault((destination.type, destination.address), destination)
    return list(seen.values())


def choose(
    request: AuthorizationRequest, named: str | None = None, settings: Settings | None = None
) -> tuple[str, Destination]:
    """(channel name, destination): the caller's choice, else the payer's first way precert has a
    channel for and is set up to use (electronic channels only with `settings` that enable them)."""
    offered = payer_channels(request)
    if named is not None:
        if named not in CHANNELS:
            options = ", ".join(sorted(CHANNELS))
            message = f"channel: {named!r} is not a channel; use one of {options}."
            raise ChannelMisconfigured(message, [Issue("unknown-channel", message, "channel")])
        for destination in offered:  # the payer's own address for it, when the pack gives one
            if PACK_TYPES.get(destination.type) == named and destination.address:
                return named, destination
        return named, next(
            (d for d in offered if PACK_TYPES.get(d.type) == named), Destination(named)
        )
    for destination in offered:
        chosen = PACK_TYPES.get(destination.type)
        if chosen is not None and set_up(chosen, request, settings):
            return chosen, destination
    listed = ", ".join(d.type for d in offered) or "none"
    message = (
        f"The payer's configured channels ({listed}) include none precert can use yet; submit "
        'by hand and record it with {"method": "phone", "reference": "..."} (the manual channel).'
    )
    raise ChannelMisconfigured(message, [Issue("no-channel", message, "channel")])
