"""`ingester web`: the public entry page GET /praatmee (readable without an account), its click-through
routes and the entry-route counters. See `create_app` (app.py) and `EntryCounters` (counters.py)."""

from ingester.web.app import create_app
from ingester.web.config import WebSettings
from ingester.web.counters import EntryCounters

__all__ = ["EntryCounters", "WebSettings", "create_app"]
