"""The 837P writer the tests use (it lives in precert.channels.x12.tx837_write)."""

from precert.channels.x12.tx837_write import BILLING_NPI, Claim, Line, build_837

__all__ = ["BILLING_NPI", "Claim", "Line", "build_837"]
