"""Telling people and systems what happened: Slack, signed webhooks, email, spreadsheet export."""
