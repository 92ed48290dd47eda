"""Settings: one typed object from the environment; a bad value is one readable line and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ingester.settings import SettingsError, load_settings

BASE = {
    "DATABASE_URL": "postgresql://pulse@127.0.0.1/pulse",
    "MASTODON_BASE_URL": "https://social.example",
    "MASTODON_ACCESS_TOKEN": "tok-SECRET-value-1234567890",
    "PULSE_ACCOUNT_SALT": "salt-SECRET-value-123456",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for key in list(os.environ):
        if key.startswith(("PULSE_", "MASTODON_")) or key == "DATABASE_URL":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray .env


def _env(monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    for k, v in {**BASE, **extra}.items():
        monkeypatch.setenv(k, v)


def test_a_complete_environment_gives_one_channel_with_lower_case_tags(monkeypatch) -> None:
    _env(monkeypatch, PULSE_HASHTAGS="#QenA, VraagVanDeGemeente")
    s = load_settings()
    [ch] = s.channels()
    assert ch.name == "main"
    assert ch.hashtags == ("qena", "vraagvandegemeente")
    assert s.pulse_timezone == "Europe/Amsterdam"


def test_several_channels_come_from_pulse_channels_json(monkeypatch) -> None:
    _env(
        monkeypatch,
        PULSE_CHANNELS='[{"name":"west","base_url":"https://west.example","access_token":"t2-abcdefghijkl"}]',
    )
    names = [c.name for c in load_settings().channels()]
    assert names == ["main", "west"]


def test_an_unknown_timezone_names_the_variable(monkeypatch) -> None:
    _env(monkeypatch, PULSE_TIMEZONE="Mars/Olympus")
    with pytest.raises(SettingsError, match=r"^PULSE_TIMEZONE: unknown timezone 'Mars/Olympus'$"):
        load_settings()


@pytest.mark.parametrize("rate", ["fast", "0", "nan"])
def test_a_simulator_rate_that_is_not_a_positive_number_names_the_variable(monkeypatch, rate: str) -> None:
    _env(monkeypatch, PULSE_SIMULATOR_RATE=rate)
    with pytest.raises(SettingsError, match=r"^PULSE_SIMULATOR_RATE: "):
        load_settings()


def test_a_missing_database_url_names_the_variable(monkeypatch) -> None:
    _env(monkeypatch)
    monkeypatch.delenv("DATABASE_URL")
    with pytest.raises(SettingsError, match=r"^DATABASE_URL: missing"):
        load_settings()


def test_a_short_salt_is_refused_without_echoing_it(monkeypatch) -> None:
    _env(monkeypatch, PULSE_ACCOUNT_SALT="short")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert str(err.value).startswith("PULSE_ACCOUNT_SALT:")
    assert "short" not in str(err.value).replace("at least", "")


def test_a_token_without_base_url_is_reported(monkeypatch) -> None:
    _env(monkeypatch)
    monkeypatch.delenv("MASTODON_BASE_URL")
    with pytest.raises(SettingsError, match=r"^MASTODON_BASE_URL: missing"):
        load_settings().channels()


def test_invalid_channels_json_names_the_variable(monkeypatch) -> None:
    _env(monkeypatch, PULSE_CHANNELS="[{broken")
    with pytest.raises(SettingsError, match=r"^PULSE_CHANNELS: not valid JSON"):
        load_settings()


@pytest.mark.parametrize("command", ["run", "check"])
def test_the_cli_prints_one_line_and_exits_2_on_a_bad_setting(command: str, tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "MASTODON_", "DATABASE_URL"))}
    env.update(BASE, PULSE_BATCH_SIZE="lots")
    proc = subprocess.run(
        [sys.executable, "-m", "ingester", command], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("ingester: PULSE_BATCH_SIZE:")
    assert "Traceback" not in proc.stderr
    assert BASE["MASTODON_ACCESS_TOKEN"] not in proc.stderr + proc.stdout
