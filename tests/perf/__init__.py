"""Benchmarks on generated city-scale data, on SQLite and PostgreSQL (not collected by `make test`).

Run `python -m tests.perf.run_benchmarks --help`; the results go to docs/benchmarks.md.
"""
