"""Use cases. The only layer that opens a unit of work; entry points call these and render."""
