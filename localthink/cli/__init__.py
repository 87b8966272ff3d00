"""Command line entry point (filled in below)."""
