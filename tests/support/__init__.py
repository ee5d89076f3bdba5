"""Helpers shared by the test suites (payload builders, logins)."""
