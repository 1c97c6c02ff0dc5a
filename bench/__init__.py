"""Benchmarks of kisync (not part of the test suite): see bench/README.md."""
