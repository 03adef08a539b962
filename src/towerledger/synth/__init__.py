"""Synthetic province generator (DOMAIN.md §9) for the demo, tests and benchmarks."""
