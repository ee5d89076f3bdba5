"""Reference code lists shipped with precert (see SOURCES.md)."""
