"""Benchmarks (``make bench``); results go to bench/results/. Not part of the test suite."""
