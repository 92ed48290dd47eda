"""The providers' signatures, proven against the providers' own documented examples, and the keyword's
slice of the settings."""

from __future__ import annotations

import json
import os

import pytest
from keyword_providers import meta_signature, twilio_signature

from ingester.keyword import disabled_endpoints, twilio, whatsapp
from ingester.settings import SettingsError, load_settings

# Twilio's worked example: token 12345, this URL and these parameters sign to this value.
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}


def test_twilio_signature_matches_twilios_webhook_security_example() -> None:
    # https://www.twilio.com/docs/usage/webhooks/webhooks-security ("Validating signatures")
    params = list(TWILIO_PARAMS.items())
    assert twilio.signature("12345", TWILIO_URL, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert twilio.valid("12345", TWILIO_URL, reversed(params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert twilio_signature("12345", TWILIO_URL, TWILIO_PARAMS) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="  # the test signer too


def test_twilio_signature_matches_the_helper_librarys_documented_example() -> None:
    # twilio-php / twilio-python "Validate Incoming Requests": the same request from +14158675309.
    params = {**TWILIO_PARAMS, "Caller": "+14158675309", "From": "+14158675309"}
    assert twilio.valid("12345", TWILIO_URL, params.items(), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


@pytest.mark.parametrize(
    "change",
    [
        {"url": TWILIO_URL.replace("foo=1", "foo=2")},
        {"token": "12346"},
        {"params": {**TWILIO_PARAMS, "Digits": "1235"}},
        {"params": {**TWILIO_PARAMS, "Extra": ""}},
        {"header": ""},
        {"header": "0/KCTR6DLpKmkAf8muzZqo1nDgQ"},
    ],
)
def test_twilio_signature_fails_on_any_change(change: dict) -> None:
    token = change.get("token", "12345")
    url = change.get("url", TWILIO_URL)
    params = change.get("params", TWILIO_PARAMS)
    header = change.get("header", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not twilio.valid(token, url, params.items(), header)


def test_repeated_twilio_parameters_are_signed_in_value_order() -> None:
    params = [("MediaUrl", "b"), ("Body", "x"), ("MediaUrl", "a")]
    expected = twilio.signature("t", "https://x", [("Body", "x"), ("MediaUrl", "a"), ("MediaUrl", "b")])
    assert twilio.signature("t", "https://x", params) == expected


def test_a_twilio_form_keeps_empty_fields_and_decodes_plus_signs() -> None:
    form = twilio.parse_form(b"ToState=&From=%2B31612345678&Body=praat+mee")
    assert form == [("ToState", ""), ("From", "+31612345678"), ("Body", "praat mee")]


def test_twiml_escapes_the_message_and_may_be_empty() -> None:
    assert twilio.twiml("a < b & c").endswith(b"<Response><Message>a &lt; b &amp; c</Message></Response>")
    assert twilio.twiml(None).endswith(b"<Response></Response>")


def test_meta_signature_is_checked_over_the_raw_bytes() -> None:
    body = b'{"object": "whatsapp_business_account", "entry": []}'
    header = meta_signature("secret", body)
    assert whatsapp.valid("secret", body, header)
    assert whatsapp.valid("secret", body, header.upper().replace("SHA256=", "sha256="))  # hex in any case
    reserialised = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert not whatsapp.valid("secret", reserialised, header)
    assert not whatsapp.valid("other", body, header)
    assert not whatsapp.valid("secret", body, header.removeprefix("sha256="))
    assert not whatsapp.valid("secret", body, None)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for key in list(os.environ):
        if key.startswith(("PULSE_", "MASTODON_")) or key == "DATABASE_URL":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgresql://pulse@127.0.0.1/pulse")
    monkeypatch.setenv("PULSE_ACCOUNT_SALT", "salt-SECRET-value-123456")


def test_the_keyword_slice_comes_from_the_environment(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_ENTRY_URL", "https://www.amsterdam.nl/praatmee")
    monkeypatch.setenv("PULSE_WEB_PUBLIC_URL", "https://pulse.example.nl")
    monkeypatch.setenv("PULSE_TWILIO_AUTH_TOKEN", "tw-SECRET-123456")
    monkeypatch.setenv("PULSE_WHATSAPP_PHONE_NUMBER_ID", "106540352242922")
    kw = load_settings().keyword()
    assert kw.entry_url == "https://www.amsterdam.nl/praatmee"
    assert kw.twilio_auth_token.get_secret_value() == "tw-SECRET-123456"
    assert kw.whatsapp_graph_url == "https://graph.facebook.com/v24.0"
    assert kw.language == "nl"
    assert disabled_endpoints(kw) == [
        (
            "GET/POST /keyword/whatsapp is off (404): set PULSE_WHATSAPP_VERIFY_TOKEN, PULSE_WHATSAPP_APP_SECRET, "
            "PULSE_WHATSAPP_ACCESS_TOKEN"
        )
    ]
    assert "tw-SECRET" not in repr(kw)


def test_a_phone_number_id_that_is_not_digits_names_the_variable(
    clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULSE_WHATSAPP_PHONE_NUMBER_ID", "+31 6 12")
    with pytest.raises(SettingsError, match=r"^PULSE_WHATSAPP_PHONE_NUMBER_ID: "):
        load_settings()


def test_an_entry_url_with_a_query_string_names_the_variable(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_ENTRY_URL", "https://www.amsterdam.nl/praatmee?utm_source=x")
    with pytest.raises(SettingsError, match=r"^PULSE_ENTRY_URL: must not contain"):
        load_settings()


def test_the_keyword_secrets_are_scrubbed_from_logs(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from ingester.redact import Redactor

    secrets = {
        "PULSE_TWILIO_AUTH_TOKEN": "tw-SECRET-abcdef",
        "PULSE_WHATSAPP_VERIFY_TOKEN": "verify-SECRET-abc",
        "PULSE_WHATSAPP_APP_SECRET": "app-SECRET-abcdef",
        "PULSE_WHATSAPP_ACCESS_TOKEN": "EAA-SECRET-abcdef",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    redactor = Redactor.from_settings(load_settings())
    line = redactor.scrub(" ".join(secrets.values()))
    assert not any(value in line for value in secrets.values()), line


def test_a_twilio_signature_over_the_url_with_its_default_port_is_accepted_too() -> None:
    # Twilio signs the URL as typed in its console; its helper libraries try both spellings.
    params = list(TWILIO_PARAMS.items())
    with_port = twilio.signature("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", params)
    assert twilio.valid("12345", TWILIO_URL, params, with_port)
    assert twilio.valid("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not twilio.valid("12345", "https://mycompany.com:8443/myapp.php?foo=1&bar=2", params, with_port)
