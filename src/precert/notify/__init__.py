"""Telling people and systems what happened: Slack, signed webhooks, email, spreadsheet export.

Everything here takes plain values (`Notice`, rows) and its I/O seam (an httpx client, an SMTP
config, a path); nothing reads the database. Notices carry ids and statuses only, never PHI.
"""
