"""Benchmarks (``make bench``): each prints its figure beside a same-run baseline."""
