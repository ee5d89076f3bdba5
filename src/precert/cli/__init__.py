"""Command-line entry point (Typer): one module per command group, thin calls into services."""
