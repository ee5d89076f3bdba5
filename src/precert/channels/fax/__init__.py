"""The fax channel: a rendered fax packet goes to a pluggable `FaxSender`.

The default sender writes to an outbox folder that a fax gateway (or a person) picks up.
"""

from precert.channels.fax.outbox import OutboxFaxSender
from precert.channels.fax.sender import FaxReceipt, FaxSender

__all__ = ["FaxReceipt", "FaxSender", "OutboxFaxSender"]
