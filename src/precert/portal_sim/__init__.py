"""Mock payer portals for tests and the demo: (a) a modern wizard, (b) an older table-layout
portal. They stand outside precert, like payer_sim: nothing in precert imports them (only the CLI
and the tests do).

- `modern/`: portal (a), `create_modern_portal`, built to match the labels of the shipped SOPs
  modern-wizard-submit.md and modern-wizard-status.md (docs/portal-sim.md).
- `legacy/`: portal (b) (docs/portal-sim-legacy.md).
"""
