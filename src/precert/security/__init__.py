"""Protecting PHI: field encryption (AES-GCM, key ids), blind indexes, passwords, TOTP, tokens."""
