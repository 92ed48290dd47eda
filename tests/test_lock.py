"""The locks (what `make install`, `.ci/run` and the Docker image install) hold every dependency that
pyproject.toml declares, at a version it allows, with hashes. A stale lock fails here: run `make lock`."""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from conftest import ROOT

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.M)


def pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text(encoding="utf-8")
    return {canonicalize_name(name): version for name, version in PIN.findall(text)}


def declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += project["optional-dependencies"][extra]
    return [Requirement(r) for r in reqs]


@pytest.mark.parametrize(("lock", "extras"), [("requirements.lock", ()), ("requirements-test.lock", ("test",))])
def test_every_declared_dependency_is_locked_at_an_allowed_version(lock: str, extras: tuple[str, ...]) -> None:
    locked = pins(lock)
    stale = [f"{r.name}{r.specifier} (locked: {locked.get(canonicalize_name(r.name), 'missing')})"
             for r in declared(*extras)
             if locked.get(canonicalize_name(r.name)) is None
             or not r.specifier.contains(locked[canonicalize_name(r.name)], prereleases=True)]
    assert stale == [], f"{lock} is stale for {stale}: run `make lock`"


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-test.lock"])
def test_every_locked_package_carries_hashes(lock: str) -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / lock).read_text(encoding="utf-8"))
    unhashed = [b.split("==")[0] for b in blocks if "==" in b and "--hash=sha256:" not in b]
    assert unhashed == []
    assert "uv" not in pins("requirements.lock")  # the runtime lock holds no test tool
