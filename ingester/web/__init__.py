"""`ingester web`: the public entry page GET /praatmee (readable without an account), its click-through
routes and the entry-route counters. See `create_app` (app.py) and `EntryCounters` (counters.py).

Nothing is imported here: every CLI start imports `ingester.web.command` to register the command, and
the page's own modules (Jinja, the sanitiser, the store reader) load only when `ingester web` runs."""
