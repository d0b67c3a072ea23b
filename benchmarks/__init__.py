"""Benchmarks: figures printed by `make bench` (never part of the test suite)."""
