"""HL7 FHIR-facing endpoints of the precert server: CDS Hooks for Da Vinci CRD (`crd`).

They speak the specifications' own JSON (CDS Hooks cards and system actions), not the JSON API's
shapes; errors still use the one precert error shape.
"""
