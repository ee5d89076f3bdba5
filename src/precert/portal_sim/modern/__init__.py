"""Mock portal (a), the modern wizard: see app.py (routes and rules), pages.py (HTML: labels,
the variant's ids/classes/field order, the small scripts) and state.py (its SQLite file)."""

from precert.portal_sim.modern.app import create_modern_portal

__all__ = ["create_modern_portal"]
