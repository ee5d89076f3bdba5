"""Synthetic files the demo loads (an 835 with authorization denials)."""
