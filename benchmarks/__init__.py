"""rtastream's benchmark suite (pytest-benchmark): `make bench` runs it and writes the
benchmarks page, docs/benchmarks.md.

workloads.py holds the shared data generators, variants.py the encoders compared side by
side, purepython.py the pure-Python path, report.py turns the JSON results into the page:
its sections are declared in report_sections.py (prose, and tables whose columns are
quantities of what each benchmark recorded in its extra_info), rendered by the one table
function of report_tables.py; the targets are rows of report_targets.py.
"""
