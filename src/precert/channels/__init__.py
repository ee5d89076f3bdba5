"""How a request reaches a payer: one package per channel (fax, manual, later X12, FHIR, portal)."""
