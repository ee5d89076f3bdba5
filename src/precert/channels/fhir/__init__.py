"""Da Vinci PAS (FHIR R4 4.0.1, PAS 2.2.1; 2.0.1 responses accepted): the request Bundle we build,
the profile rules we check it against, the response Bundle read into a Determination, and our
errors as OperationOutcomes. Plain dicts throughout; no network here (transport lives elsewhere).
"""
