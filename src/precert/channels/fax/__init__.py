"""The fax channel: the fax packet goes to a pluggable sender (default: an outbox folder)."""
