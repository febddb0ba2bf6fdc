"""The `fraud` command line (Typer)."""
