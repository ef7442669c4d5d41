"""Benchmarks and studies of pnet: each prints ratios against peers measured in the same run."""
