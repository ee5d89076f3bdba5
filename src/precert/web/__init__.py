"""Web entry point: create_app(settings) with the JSON API, the HTML pages and (later) FHIR."""
