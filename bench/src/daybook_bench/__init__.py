"""Daybook benchmarks (``uv run daybook bench``)."""
