"""Mock payer portal (b): an older portal with table layouts, email-code sign-in, a notice pop-up
and a CAPTCHA on some logins (docs/portal-sim-legacy.md). `create_legacy_portal` in app.py."""
