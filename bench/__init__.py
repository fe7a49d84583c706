"""Benchmarks: ``python -m bench`` prints what it measured and the command that reproduces it."""
