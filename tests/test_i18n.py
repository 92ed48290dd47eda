"""Locale formatting and text catalogues: what a Dutch or English reader sees."""

from datetime import date

import pytest

from ingester import i18n
from ingester.settings import SettingsError, load_settings


def test_dutch_numbers_use_a_dot_for_thousands_and_a_comma_for_decimals() -> None:
    assert i18n.number(1234, "nl") == "1.234"
    assert i18n.ratio(0.4213, "nl") == "0,42"
    assert i18n.number(1234, "en") == "1,234"


def test_dutch_dates_use_the_short_month_name() -> None:
    assert i18n.day(date(2026, 12, 7), "nl").startswith("7 dec")
    assert i18n.day(date(2026, 12, 7), "en").startswith("7 Dec")


def test_a_missing_figure_is_a_dash_never_none() -> None:
    for fmt in (i18n.number, i18n.ratio, i18n.percent, i18n.duration):
        assert fmt(None, "nl") == i18n.MISSING


def test_durations_are_rounded_words() -> None:
    assert i18n.duration(95 * 60, "nl") == "2 uur"
    assert i18n.duration(12 * 60, "en") == "12 minutes"


def test_a_catalog_with_a_text_missing_in_one_language_is_refused() -> None:
    with pytest.raises(ValueError, match="differs"):
        i18n.Catalog({"nl": {"a": "x", "b": "y"}, "en": {"a": "x"}})


def test_catalog_fills_fields() -> None:
    cat = i18n.Catalog({"nl": {"hi": "Hallo {naam}"}, "en": {"hi": "Hello {naam}"}})
    assert cat.text("nl", "hi", naam="Amsterdam") == "Hallo Amsterdam"


def test_language_setting_defaults_to_dutch_and_rejects_unknown(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    monkeypatch.delenv("PULSE_LANGUAGE", raising=False)  # "defaults" means: not set anywhere
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@127.0.0.1/db")
    monkeypatch.setenv("PULSE_ACCOUNT_SALT", "s" * 16)
    assert load_settings().language() == "nl"
    monkeypatch.setenv("PULSE_LANGUAGE", "EN")
    assert load_settings().language() == "en"
    monkeypatch.setenv("PULSE_LANGUAGE", "fr")
    with pytest.raises(SettingsError, match="PULSE_LANGUAGE"):
        load_settings()
