"""Grafana as code: typed dashboard builders, alert rules, the macro expander and `ingester grafana`.

Everything Grafana will run is generated here, so every query can be proven against a real
database in the tests (Grafana itself cannot run on the development machines).
"""

from __future__ import annotations

DATASOURCE_UID = "pulse-pg"
DATASOURCE_TYPE = "grafana-postgresql-datasource"  # the plugin id since Grafana 10.2 ("postgres" is an alias)
FOLDER_UID = "praatmee-pulse"
FOLDER_TITLE = "Praatmee Pulse"

DATASOURCE_REF = {"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID}
