"""A fresh clone with nothing beside it: the suite collects, the corpus tests say why they are skipped,
and CI (PULSE_REQUIRE_CORPUS=1, set by .ci/run) turns a missing corpus into a failure."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CORPUS_ABSENT, ROOT


def repo_files() -> list[str]:
    """What a clone holds: the tracked files plus new ones not ignored (a worktree's uncommitted work)."""
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [f for f in out.splitlines() if (ROOT / f).is_file() and not f.startswith("tools/timescale/node_modules")]


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("fresh") / "praatmee-pulse"
    for rel in repo_files():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest / rel)
    assert not (dest.parent / "shared").exists()
    return dest


def pytest_in(clone: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "PULSE_REQUIRE_CORPUS"} | env
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=clone, env=environ, capture_output=True, text=True, timeout=240,
    )


def test_a_fresh_clone_collects_every_test_without_an_error(clone: Path) -> None:
    there = pytest_in(clone, "--collect-only", "-q")
    assert there.returncode == 0, there.stdout[-3000:] + there.stderr[-3000:]
    assert "error" not in there.stdout.lower().split("short test summary")[-1]
    assert "tests collected" in there.stdout
    # only the modules whose golden inputs are the corpus are skipped whole, with the reason
    assert CORPUS_ABSENT in there.stdout
    collected = {line.split("::")[0] for line in there.stdout.splitlines() if "::" in line}
    whole_corpus = {f"tests/{p.name}" for p in (ROOT / "tests").glob("test_*.py")
                    if "\nrequire_corpus()" in p.read_text()}
    assert whole_corpus == {"tests/test_frames.py", "tests/test_normalize.py"}  # the corpus's own tests
    with_tests = {f"tests/{p.name}" for p in (ROOT / "tests").glob("test_*.py") if "def test_" in p.read_text()}
    assert with_tests - whole_corpus <= collected, with_tests - whole_corpus - collected


def test_the_corpus_tests_are_reported_as_skipped_with_the_reason(clone: Path) -> None:
    run = pytest_in(clone, "-q", "-rs", "tests/test_observability.py", "tests/test_frames.py")
    assert run.returncode == 0, run.stdout[-3000:]
    assert CORPUS_ABSENT in run.stdout
    assert " passed" in run.stdout  # the tests that do not read the corpus still run


def test_ci_turns_a_missing_corpus_into_a_failure(clone: Path) -> None:
    run = pytest_in(clone, "-q", "tests/test_observability.py", PULSE_REQUIRE_CORPUS="1")
    assert run.returncode != 0
    assert "PULSE_REQUIRE_CORPUS=1 requires it" in run.stdout + run.stderr
    ci = (ROOT / ".ci" / "run").read_text()
    assert "export PULSE_REQUIRE_CORPUS=1" in ci

