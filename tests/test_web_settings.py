"""`ingester web` settings: its slice of the one settings object, without the account salt."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ingester.cli import app
from ingester.settings import SettingsError, load_web_settings

DB = "postgresql://postgres@127.0.0.1:5432/x"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("PULSE_", "MASTODON_", "DATABASE_URL")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env from the working tree


def test_defaults_port_8080_and_sign_up_on_the_channels_own_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", DB)
    monkeypatch.setenv("MASTODON_BASE_URL", "https://social.amsterdam.nl/")
    monkeypatch.setenv("PULSE_CHANNEL_NAME", "amsterdam")
    web = load_web_settings().web()
    assert web.port == 8080 and web.channel == "amsterdam"
    assert web.signup_url == "https://social.amsterdam.nl/auth/sign_up"
    assert web.formats[0] == "qa" and web.cache_seconds == 5


def test_the_web_service_needs_no_account_salt_and_reads_its_own_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"DATABASE_URL": DB, "PULSE_WEB_PORT": "9090", "PULSE_WEB_SOURCES": "Tram-5, bieb",
                        "PULSE_WEB_SIGNUP_URL": "https://join.example.nl/", "PULSE_WEB_ABOUT_EN": "Us."}.items():
        monkeypatch.setenv(name, value)
    web = load_web_settings().web()
    assert (web.port, web.sources, web.about["en"], web.about["nl"]) == (9090, ("tram-5", "bieb"), "Us.", None)
    assert web.signup_url == "https://join.example.nl/"


def test_a_bad_source_code_names_the_variable_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", DB)
    monkeypatch.setenv("PULSE_WEB_SOURCES", "ok,<geheim>")
    with pytest.raises(SettingsError) as err:
        load_web_settings().web()
    assert str(err.value).startswith("PULSE_WEB_SOURCES") and "geheim" not in str(err.value)


def test_a_missing_database_url_stops_the_command_with_one_line_and_exit_code_2() -> None:
    result = CliRunner().invoke(app, ["web"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "ingester: DATABASE_URL: missing (required)"
