"""Mock payer portals for tests and the demo: (a) a modern wizard, (b) an older table-layout
portal. They stand outside precert, like payer_sim: nothing in precert imports them."""
