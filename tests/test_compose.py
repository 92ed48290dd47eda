"""docker-compose.yml: valid against the Compose Specification, every variable it passes is one the
receiving program reads, every mounted or copied path exists, every `${VAR}` is documented."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from conftest import DATA, ROOT

from ingester.grafana.login import ReaderLoginSettings
from ingester.settings import Settings

COMPOSE = ROOT / "docker-compose.yml"
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?+][^}]*)?\}")


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def env_of(service: str) -> dict[str, Any]:
    return compose()["services"][service].get("environment", {})


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    schema = json.loads((DATA / "compose-spec.json").read_text())
    jsonschema.Draft7Validator(schema).validate(compose())  # the spec declares draft-07


def test_docker_compose_config_accepts_the_file_where_the_compose_cli_exists() -> None:
    # No Docker engine here; `docker compose config` needs only the CLI plugin, when present.
    docker = shutil.which("docker")
    has_compose = docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    env = {line.split("=", 1)[0]: "x" * 16 for line in (ROOT / ".env.example").read_text().splitlines()
           if line and not line.startswith("#")}
    if has_compose:
        done = subprocess.run([docker, "compose", "-f", str(COMPOSE), "config", "-q"], capture_output=True,
                              text=True, env={**env, "PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, done.stderr
    else:  # still prove the required variables are all in .env.example
        required = {m.group(1) for m in re.finditer(r"\$\{([A-Z0-9_]+):\?", COMPOSE.read_text())}
        assert required <= set(env)


def test_ingester_and_migrate_receive_only_variables_their_settings_read() -> None:
    known = {name.upper() for name in Settings.model_fields} | {
        name.upper() for name in ReaderLoginSettings.model_fields}
    for service in ("ingester", "migrate"):
        unknown = set(env_of(service)) - known
        assert not unknown, f"{service} gets variables no setting reads: {unknown}"


def test_grafana_receives_grafana_variables_and_those_its_provisioning_files_use() -> None:
    used = set()
    for path in (ROOT / "grafana" / "provisioning").rglob("*.yaml"):
        used |= set(re.findall(r"\$([A-Z][A-Z0-9_]+)", path.read_text()))
    given = set(env_of("grafana"))
    assert used <= given, f"provisioning files use variables compose does not pass: {used - given}"
    assert all(v.startswith("GF_") or v in used for v in given), given - used


def test_database_service_gets_only_postgres_image_variables() -> None:
    assert set(env_of("timescaledb")) == {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}


def test_every_interpolated_variable_is_documented_in_env_example_and_vice_versa() -> None:
    used = set(INTERPOLATION.findall(COMPOSE.read_text()))
    documented = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
                  if re.match(r"^[A-Z][A-Z0-9_]*=", line)}
    assert used == documented


def test_every_mounted_and_copied_path_exists() -> None:
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = re.sub(r"^\$\{[A-Z_]+:-([^}]*)\}", r"\1", volume).split(":", 1)[0]  # ${VAR:-default}
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
        if "build" in service:
            assert (ROOT / "Dockerfile").is_file()
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"


def test_images_are_pinned_and_long_running_services_have_healthchecks() -> None:
    services = compose()["services"]
    for name, service in services.items():
        if "build" not in service:  # pulled images carry a version tag; ours is built locally
            image = service["image"]
            assert re.search(r":\d+\.\d+\.\d+", image), f"{name}: image not pinned: {image}"
    assert services["timescaledb"]["image"].startswith("timescale/timescaledb:")  # full, not -oss
    assert not services["timescaledb"]["image"].endswith("-oss")
    assert services["grafana"]["image"].startswith("grafana/grafana-oss:")
    for name in ("timescaledb", "ingester", "grafana"):
        assert "healthcheck" in services[name], name
    assert services["ingester"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_ingester_runs_against_the_simulator_unless_a_token_is_set() -> None:
    service = compose()["services"]["ingester"]
    assert service["command"] == ["ingester", "run", "--simulate"]
    assert service["environment"]["MASTODON_ACCESS_TOKEN"] == "${MASTODON_ACCESS_TOKEN:-}"


def test_data_lives_in_named_volumes() -> None:
    doc = compose()
    assert set(doc["volumes"]) == {"pgdata", "grafana-data", "spool"}
    assert "pgdata:/var/lib/postgresql/data" in doc["services"]["timescaledb"]["volumes"]
    assert "spool:/var/lib/pulse" in doc["services"]["ingester"]["volumes"]
    assert doc["services"]["ingester"]["environment"]["PULSE_SPOOL_DIR"].startswith("/var/lib/pulse/")
    assert "grafana-data:/var/lib/grafana" in doc["services"]["grafana"]["volumes"]


def test_provisioned_datasource_is_timescaledb_with_a_fixed_uid_and_reader_login() -> None:
    doc = yaml.safe_load((ROOT / "grafana/provisioning/datasources/pulse.yaml").read_text())
    (ds,) = doc["datasources"]
    assert (ds["uid"], ds["jsonData"]["timescaledb"]) == ("pulse-pg", True)
    assert ds["user"] == "$PULSE_GRAFANA_DB_USER" and ds["secureJsonData"]["password"] == "$PULSE_GRAFANA_DB_PASSWORD"
    assert env_of("migrate")["PULSE_GRAFANA_DB_USER"] == env_of("grafana")["PULSE_GRAFANA_DB_USER"]


def test_the_web_service_serves_the_entry_page_from_the_same_image_with_its_own_health_check() -> None:
    services = compose()["services"]
    web = services["web"]
    assert web["image"] == services["ingester"]["image"] and web["command"] == ["ingester", "web"]
    assert web["environment"]["PULSE_WEB_PORT"] == "8080" and web["ports"] == ["${PULSE_WEB_HOST_PORT:-8080}:8080"]
    assert "8080/healthz" in " ".join(web["healthcheck"]["test"])
    assert web["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # it reads the same channel name as the ingester, so the page shows the simulator's channel at once
    assert web["environment"]["PULSE_CHANNEL_NAME"] == services["ingester"]["environment"]["PULSE_CHANNEL_NAME"]
    known = {name.upper() for name in Settings.model_fields}
    assert set(env_of("web")) - known == set()
    assert "PULSE_ACCOUNT_SALT" not in env_of("web")  # the page never needs the pseudonymisation key
