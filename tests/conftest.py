"""The tests' fixtures: Redis servers, clusters and Sentinel groups (tests/redis_fixtures.py)."""

pytest_plugins = ["redis_fixtures"]
