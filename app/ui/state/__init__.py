"""Screen state without Flet: unit tests drive these against a real store."""
