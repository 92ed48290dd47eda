"""Praatmee Pulse ingester: Mastodon streaming + REST catch-up into PostgreSQL/TimescaleDB."""

__version__ = "0.1.0"
