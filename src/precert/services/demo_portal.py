"""The demo's portal login: the vault credential `portal_login` that the shipped modern-wizard
SOPs name (`credentials: [portal_login]`), holding the mock portal's (a) demo sign-in, so that
`make run` can submit Acme Health requests through `precert portal-sim` with nothing to type.

What belongs here: the demo values and adding them when missing. The values are the mock portal's
defaults (precert.portal_sim.modern.app DEMO_USERS / DEMO_TOTP_SECRET, docs/portal-sim.md); they
are repeated, not imported, because services may not import the simulators (import-linter). They
are public, synthetic accounts: the demo load is refused in production.
"""

from __future__ import annotations

from precert.services.context import Context
from precert.services.credentials import add_credential, list_credentials

CREDENTIAL = "portal_login"  # the name in the shipped SOPs' `credentials:` header
PORTAL_USERNAME = "demo"
# Public on purpose, like demo.DEMO_PASSWORD: the mock portal's synthetic demo account.
PORTAL_PASSWORD = "demo-password"
PORTAL_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def ensure_portal_login(ctx: Context, organization_id: str, *, actor: str) -> bool:
    """Add the demo portal credential to the organization's vault unless one of that name exists
    (a site that replaced it with its own keeps its own); True when it was added now."""
    # Listing decrypts nothing and audits nothing, so a second load leaves no trace.
    if any(item.name == CREDENTIAL for item in list_credentials(ctx, organization_id)):
        return False
    return add_credential(
        ctx,
        organization_id,
        CREDENTIAL,
        username=PORTAL_USERNAME,
        password=PORTAL_PASSWORD,
        totp_secret=PORTAL_TOTP_SECRET,
        actor=actor,
    )
