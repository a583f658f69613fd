"""Benchmarks: `python -m bench.<name>` prints a table and the ratio against the peer tool."""
