"""Protecting PHI: field encryption (AES-GCM with key ids), blind indexes, passwords, TOTP, API tokens."""
