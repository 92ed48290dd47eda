"""Create or update Grafana's database login: a LOGIN role that is a member of `pulse_reader`.

Run by the compose stack's one-shot `migrate` service right after `ingester migrate` (the roles
exist by then; `pulse_reader` is created here too, tolerating `duplicate_object`, so the order
does not matter). Idempotent: a second run only resets the password. The login is read-only by
default and its statements time out, so a heavy dashboard query cannot hold the database.
"""

from __future__ import annotations

import re

import psycopg
from psycopg import sql
from pydantic import Field, SecretStr, field_validator

from ingester.settings import DatabaseUrlSettings, read_settings

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ReaderLoginSettings(DatabaseUrlSettings):
    """The variables `ingester grafana reader-login` reads (compose passes them to `migrate`); DATABASE_URL
    is the admin URL allowed to create roles, checked by the one rule every command uses."""

    pulse_grafana_db_user: str = Field(default="grafana_reader", description="Login name for Grafana")
    pulse_grafana_db_password: SecretStr = Field(description="Its password (also given to Grafana)")

    @field_validator("pulse_grafana_db_user")
    @classmethod
    def _user(cls, v: str) -> str:
        if not _IDENT.match(v):
            raise ValueError("must be a lower-case SQL identifier (letters, digits, '_')")
        return v

    @field_validator("pulse_grafana_db_password")
    @classmethod
    def _password(cls, v: SecretStr) -> SecretStr:
        if len(v.get_secret_value()) < 12:
            raise ValueError("must be at least 12 characters")
        return v


def load() -> ReaderLoginSettings:
    return read_settings(ReaderLoginSettings)


def ensure_reader_login(dsn: str, user: str, password: str, *, statement_timeout: str = "30s") -> bool:
    """Create (True) or update (False) the login. Never logs or returns the password."""
    role = sql.Identifier(user)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "DO $$ BEGIN CREATE ROLE pulse_reader NOLOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone() is not None
        # CREATE/ALTER ROLE take no bind parameters; Literal quotes the password safely.
        verb = "ALTER ROLE {} WITH LOGIN PASSWORD {}" if exists else "CREATE ROLE {} WITH LOGIN PASSWORD {}"
        conn.execute(sql.SQL(verb).format(role, sql.Literal(password)))
        conn.execute(sql.SQL("GRANT pulse_reader TO {}").format(role))
        conn.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(role))
        conn.execute(sql.SQL("ALTER ROLE {} SET statement_timeout = {}").format(role, sql.Literal(statement_timeout)))
    return not exists
