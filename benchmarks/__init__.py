"""rtastream's benchmark suite (pytest-benchmark): `make bench` runs it and writes the
benchmarks page, docs/benchmarks.md.

workloads.py holds the shared data generators, variants.py the encoders compared side by
side, purepython.py the pure-Python path, report.py turns the JSON results into tables.
"""
