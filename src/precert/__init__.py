"""precert: prior authorization for clinics, hospitals and billing companies.

Layers (enforced by import-linter): entry points (cli, web) -> services -> store -> domain,
with config and errors beneath everything. See ../shared/ARCHITECTURE.md.
"""

__version__ = "0.1.0"
