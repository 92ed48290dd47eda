"""The PostgreSQL datasource: one definition, two shapes (provisioning YAML and the HTTP API).

Grafana connects as a login in the `pulse_reader` role (see `login.py`), never as the ingester's
user; the password only ever comes from the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ingester.grafana import DATASOURCE_TYPE, DATASOURCE_UID

NAME = "Praatmee Pulse"


@dataclass(frozen=True)
class Connection:
    host: str  # host:port as Grafana wants it
    database: str
    user: str
    password: str
    sslmode: str = "disable"
    # Grafana's "TimescaleDB" switch: $__timeGroup becomes time_bucket(), which plain PostgreSQL lacks.
    # `grafana push` sets it from the tier it detects (ingester.grafana.tier).
    timescaledb: bool = True


def _json_data(database: str, sslmode: str, timescaledb: bool = True) -> dict[str, Any]:
    return {
        "database": database,
        "sslmode": sslmode,
        # The compose stack runs TimescaleDB (provisioning file); `grafana push` detects the tier.
        "timescaledb": timescaledb,
        "postgresVersion": 1700,  # the compose image is PostgreSQL 17
        "maxOpenConns": 10,
        "maxIdleConns": 10,
        "connMaxLifetime": 14400,
        "timeInterval": "15s",  # heartbeats are ~15 s apart: no finer $__interval than that
    }


def provisioning_file() -> dict[str, Any]:
    """Grafana interpolates `$VARS` in datasource provisioning files from its environment."""
    return {
        "apiVersion": 1,
        "datasources": [{
            "name": NAME,
            "uid": DATASOURCE_UID,
            "type": DATASOURCE_TYPE,
            "access": "proxy",
            "url": "$PULSE_GRAFANA_DB_HOST",
            "user": "$PULSE_GRAFANA_DB_USER",
            "isDefault": True,
            "editable": False,
            "jsonData": _json_data("$PULSE_GRAFANA_DB_NAME", "$PULSE_GRAFANA_DB_SSLMODE"),
            "secureJsonData": {"password": "$PULSE_GRAFANA_DB_PASSWORD"},
        }],
    }


def api_payload(conn: Connection) -> dict[str, Any]:
    """Body for POST /api/datasources and PUT /api/datasources/uid/:uid."""
    return {
        "name": NAME,
        "uid": DATASOURCE_UID,
        "type": DATASOURCE_TYPE,
        "access": "proxy",
        "url": conn.host,
        "user": conn.user,
        "database": conn.database,
        "basicAuth": False,
        "isDefault": False,  # a city's Grafana has its own default; do not take it over
        "jsonData": _json_data(conn.database, conn.sslmode, conn.timescaledb),
        "secureJsonData": {"password": conn.password},
    }
