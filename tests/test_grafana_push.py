"""`ingester grafana push` against a local server that checks every request against Grafana's
documented HTTP API (method, path, required JSON fields, auth header) and keeps state."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from ingester.cli import app

TOKEN = "glsa_test_token_not_secret_0123456789"
DB_PASSWORD = "reader-pw-placeholder-1"

# (method, path regex) -> required top-level JSON fields; from the Grafana HTTP API docs
# (data_source.md, folder.md, dashboard.md, alerting_provisioning.md)
ROUTES: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", r"/api/datasources/uid/(?P<uid>[\w-]+)"): (),
    ("POST", r"/api/datasources"): ("name", "type", "access"),
    ("PUT", r"/api/datasources/uid/(?P<uid>[\w-]+)"): ("name", "type", "access"),
    ("GET", r"/api/folders/(?P<uid>[\w-]+)"): (),
    ("POST", r"/api/folders"): ("title",),
    ("PUT", r"/api/folders/(?P<uid>[\w-]+)"): ("title",),
    ("GET", r"/api/dashboards/uid/(?P<uid>[\w-]+)"): (),
    ("POST", r"/api/dashboards/db"): ("dashboard",),
    ("GET", r"/api/v1/provisioning/alert-rules/(?P<uid>[\w-]+)"): (),
    ("POST", r"/api/v1/provisioning/alert-rules"): (
        "title", "condition", "data", "folderUID", "ruleGroup", "noDataState", "execErrState", "for"),
    ("PUT", r"/api/v1/provisioning/alert-rules/(?P<uid>[\w-]+)"): (
        "title", "condition", "data", "folderUID", "ruleGroup", "noDataState", "execErrState", "for"),
    ("PUT", r"/api/v1/provisioning/folder/(?P<folder>[\w-]+)/rule-groups/(?P<group>[\w-]+)"): ("title", "interval", "rules"),
    ("GET", r"/api/v1/provisioning/contact-points"): (),
    ("POST", r"/api/v1/provisioning/contact-points"): ("name", "type", "settings"),
    ("PUT", r"/api/v1/provisioning/contact-points/(?P<uid>[\w-]+)"): ("name", "type", "settings"),
}


class FakeGrafana:
    def __init__(self) -> None:
        self.datasources: dict[str, dict[str, Any]] = {}
        self.folders: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.rules: dict[str, dict[str, Any]] = {}
        self.groups: dict[tuple[str, str], dict[str, Any]] = {}
        self.contacts: dict[str, dict[str, Any]] = {}
        self.violations: list[str] = []
        self.log: list[tuple[str, str, int]] = []

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        if headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {"message": "Unauthorized"}
        for (m, pattern), required in ROUTES.items():
            match = re.fullmatch(pattern, path.split("?")[0])
            if m == method and match:
                break
        else:
            self.violations.append(f"undocumented {method} {path}")
            return 404, {"message": "Not found"}
        doc: Any = None
        if method in ("POST", "PUT"):
            if "application/json" not in headers.get("Content-Type", ""):
                self.violations.append(f"{method} {path}: not JSON")
            doc = json.loads(body)
            missing = [f for f in required if f not in doc]
            if missing:
                self.violations.append(f"{method} {path}: missing {missing}")
                return 400, {"message": f"missing {missing}"}
        return self.apply(method, path.split("?")[0], match.groupdict(), doc, path)

    def apply(self, method: str, path: str, g: dict[str, str], doc: Any, raw: str) -> tuple[int, Any]:
        if path.startswith("/api/datasources"):
            if method == "GET":
                return (200, self.datasources[g["uid"]]) if g["uid"] in self.datasources else (404, {"message": "x"})
            if method == "POST" and any(d["name"] == doc["name"] for d in self.datasources.values()):
                return 409, {"message": "data source with the same name already exists"}
            if method == "PUT" and g["uid"] not in self.datasources:
                return 404, {"message": "Data source not found"}
            uid = doc.get("uid") or g.get("uid")
            self.datasources[uid] = {**doc, "version": self.datasources.get(uid, {}).get("version", 0) + 1}
            return 200, {"id": 1, "message": "Datasource updated", "name": doc["name"]}
        if path.startswith("/api/folders"):
            if method == "GET":
                return (200, self.folders[g["uid"]]) if g["uid"] in self.folders else (404, {"message": "x"})
            uid = doc.get("uid") or g["uid"]
            if method == "POST" and uid in self.folders:
                return 409, {"message": "a folder with the same uid already exists"}
            self.folders[uid] = {"uid": uid, "title": doc["title"]}
            return 200, self.folders[uid]
        if path.startswith("/api/dashboards"):
            if method == "GET":
                found = self.dashboards.get(g["uid"])
                return (200, {"dashboard": found, "meta": {}}) if found else (404, {"message": "x"})
            dash = doc["dashboard"]
            if dash.get("uid") in self.dashboards and not doc.get("overwrite"):
                return 412, {"message": "version-mismatch"}
            if dash.get("id") is not None and dash["uid"] not in self.dashboards:
                return 404, {"message": "Dashboard not found"}
            version = self.dashboards.get(dash["uid"], {}).get("version", 0) + 1
            self.dashboards[dash["uid"]] = {**dash, "version": version, "folderUid": doc.get("folderUid")}
            return 200, {"id": 1, "uid": dash["uid"], "status": "success", "version": version}
        if "/rule-groups/" in path:
            self.groups[(g["folder"], g["group"])] = doc
            return 200, doc
        if path.startswith("/api/v1/provisioning/alert-rules"):
            if method == "GET":
                return (200, self.rules[g["uid"]]) if g["uid"] in self.rules else (404, {"message": "x"})
            if doc["folderUID"] not in self.folders:
                return 400, {"message": "folder does not exist"}
            uid = doc.get("uid") or g["uid"]
            if method == "POST" and uid in self.rules:
                return 409, {"message": "rule uid already exists"}
            self.rules[uid] = doc
            return (201 if method == "POST" else 200), doc
        if path.startswith("/api/v1/provisioning/contact-points"):
            if method == "GET":
                name = re.search(r"name=([^&]+)", raw)
                return 200, [c for c in self.contacts.values() if not name or c["name"] == name.group(1)]
            uid = doc.get("uid") or g["uid"]
            self.contacts[uid] = doc
            return 202, doc
        raise AssertionError(path)


@pytest.fixture
def grafana() -> Iterator[tuple[FakeGrafana, str]]:
    fake = FakeGrafana()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, doc = fake.handle(self.command, self.path, self.headers, body)
            fake.log.append((self.command, self.path, status))
            data = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def push(url: str, *extra: str, token: str = TOKEN, password: str = DB_PASSWORD, language: str = "en",
         tier: str | None = "timescaledb", database_url: str | None = None) -> Any:
    env = {"GRAFANA_TOKEN": token, "PULSE_GRAFANA_DB_PASSWORD": password, "PULSE_LANGUAGE": language,
           "DATABASE_URL": database_url}
    args = ["grafana", "push", "--url", url, "--db-host", "db.example:5432", *extra]
    return CliRunner().invoke(app, args + (["--tier", tier] if tier else []), env=env)


def test_first_push_creates_datasource_folder_dashboards_and_rules(grafana: tuple[FakeGrafana, str]) -> None:
    fake, url = grafana
    result = push(url)
    assert result.exit_code == 0, result.output
    assert fake.violations == []
    assert set(fake.dashboards) == {"pulse-overview", "pulse-live", "pulse-post", "pulse-health"}
    assert all(d["folderUid"] == "praatmee-pulse" for d in fake.dashboards.values())
    assert set(fake.rules) == {"pulse-engagement-dropped", "pulse-qa-quiet", "pulse-ingester-stalled",
                               "pulse-dead-letters", "pulse-background-jobs"}
    ds = fake.datasources["pulse-pg"]
    assert ds["jsonData"]["timescaledb"] is True and ds["secureJsonData"]["password"] == DB_PASSWORD
    assert result.output.count("created") == 1 + 1 + 4 + 5


def test_on_plain_postgresql_push_turns_the_datasource_timescaledb_flag_off(
    grafana: tuple[FakeGrafana, str], plain_database_url: str
) -> None:
    fake, url = grafana
    result = push(url, tier=None, database_url=plain_database_url)  # auto: the tier is read from DATABASE_URL
    assert result.exit_code == 0, result.output
    assert fake.datasources["pulse-pg"]["jsonData"]["timescaledb"] is False
    assert "database tier: plain PostgreSQL" in result.output and "TimescaleDB flag off" in result.output


def test_on_timescaledb_push_keeps_the_datasource_timescaledb_flag_on(
    grafana: tuple[FakeGrafana, str], database_url: str
) -> None:
    with psycopg.connect(database_url) as conn:
        tier = conn.execute("SELECT pulse.tier()").fetchone()[0]  # type: ignore[index]
    if tier == "postgres":
        pytest.skip("TEST_DATABASE_URL's server has no TimescaleDB (the plain tier is tested above)")
    fake, url = grafana
    result = push(url, tier=None, database_url=database_url)
    assert result.exit_code == 0, result.output
    assert fake.datasources["pulse-pg"]["jsonData"]["timescaledb"] is True
    assert "TimescaleDB" in result.output.split("database tier: ")[1].split(";")[0]
    assert "TimescaleDB flag on" in result.output


def test_push_without_a_tier_or_database_url_says_what_to_do(grafana: tuple[FakeGrafana, str]) -> None:
    fake, url = grafana
    result = push(url, tier=None)
    assert result.exit_code == 2 and "DATABASE_URL: missing — grafana push reads the database tier" in result.output
    assert fake.log == []


def test_second_push_updates_everything_and_duplicates_nothing(grafana: tuple[FakeGrafana, str]) -> None:
    fake, url = grafana
    assert push(url).exit_code == 0
    result = push(url)
    assert result.exit_code == 0, result.output
    assert "created" not in result.output and result.output.count("updated") == 11
    assert (len(fake.datasources), len(fake.folders), len(fake.dashboards), len(fake.rules)) == (1, 1, 4, 5)
    assert fake.datasources["pulse-pg"]["version"] == 2 and fake.dashboards["pulse-live"]["version"] == 2
    assert fake.groups[("praatmee-pulse", "pulse")]["interval"] == 60
    assert fake.violations == []


def test_push_follows_pulse_language_for_texts_and_keeps_the_uids(grafana: tuple[FakeGrafana, str]) -> None:
    fake, url = grafana
    result = push(url, language="nl")
    assert result.exit_code == 0, result.output
    assert "dashboard pulse-live aangemaakt" in result.output and "created" not in result.output
    assert fake.dashboards["pulse-live"]["title"] == "Live vragenronde"
    assert fake.rules["pulse-qa-quiet"]["title"] == "Live vragenronde stilgevallen"
    result = push(url, "--language", "en", language="nl")  # the option wins over the environment
    assert result.exit_code == 0 and "updated dashboard pulse-live" in result.output
    assert fake.dashboards["pulse-live"]["title"] == "Live Q&A"
    assert set(fake.dashboards) == {"pulse-overview", "pulse-live", "pulse-post", "pulse-health"}


def test_an_unknown_language_is_a_usage_error_that_does_not_echo_the_value(grafana: tuple[FakeGrafana, str]) -> None:
    fake, url = grafana
    result = push(url, language="klingon")
    assert result.exit_code == 2 and "PULSE_LANGUAGE" in result.output and "klingon" not in result.output
    assert fake.log == []


def test_alert_webhook_creates_one_contact_point_and_routes_the_rules_to_it(
    grafana: tuple[FakeGrafana, str],
) -> None:
    fake, url = grafana
    for _ in range(2):
        assert push(url, "--alert-webhook", "https://hooks.example.org/pulse").exit_code == 0
    assert list(fake.contacts) == ["pulse-contact"]
    assert fake.contacts["pulse-contact"]["settings"]["url"] == "https://hooks.example.org/pulse"
    assert {r["notification_settings"]["receiver"] for r in fake.rules.values()} == {"pulse"}


def test_a_refused_token_is_one_readable_line_without_the_secrets(grafana: tuple[FakeGrafana, str]) -> None:
    _, url = grafana
    result = push(url, token="wrong-token-value")
    assert result.exit_code == 1
    assert "datasource: Grafana answered 401" in result.output
    assert "wrong-token-value" not in result.output and DB_PASSWORD not in result.output
    assert "Traceback" not in result.output


def test_missing_database_password_is_a_settings_error(grafana: tuple[FakeGrafana, str]) -> None:
    fake, url = grafana
    result = push(url, password="")
    assert result.exit_code == 2 and "PULSE_GRAFANA_DB_PASSWORD" in result.output
    assert fake.log == []


def test_unreachable_grafana_is_reported_not_raised() -> None:
    result = push("http://127.0.0.1:9")
    assert result.exit_code == 1 and "cannot reach Grafana" in result.output
