"""`ingester migrate` shows how far a long migration is: the `RAISE NOTICE`s of the schema files, as they
happen, on stderr (one line rewritten on a terminal, one line each in a log), and none of the server's other
notices. The migration here is shaped like the first migrate after an upgrade: it rebuilds from the stored
events and says so day by day."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT
from ingester.migrate import migrate
from ingester.progress import ProgressLine

NAME = "099_rebuild_like.sql"
MESSAGES = ["rollups: 9/10 days", "rollups: 10/10 days", "rollups: done"]  # longer, then shorter
PAUSE = 1.0  # seconds between the first and the second message, to see them arrive one by one
BACKFILL = f"""
-- the server's own notices, which stay hidden: 'already exists, skipping', 'does not exist, skipping'
CREATE TABLE IF NOT EXISTS pulse.channels (channel text);
DROP VIEW IF EXISTS pulse.no_such_view;
DO $$
BEGIN
  RAISE NOTICE 'rollups: %/% days', 9, 10;
  PERFORM pg_sleep({PAUSE});
  RAISE NOTICE 'rollups: %/% days', 10, 10;
  RAISE NOTICE 'rollups: done';
END $$;
"""


def schema_with_backfill(tmp_path: Path) -> Path:
    """A schema directory holding one new run-once file, for a database migrated with today's schema."""
    (tmp_path / NAME).write_text(BACKFILL, encoding="utf-8")
    return tmp_path


def test_progress_receives_each_notice_of_a_migration_file_as_it_is_raised_and_nothing_else(
    database_url: str, tmp_path: Path
) -> None:
    seen: list[tuple[float, str]] = []
    result = migrate(database_url, schema_dir=schema_with_backfill(tmp_path),
                     progress=lambda line: seen.append((time.monotonic(), line)))
    assert result.applied == [NAME]
    assert [line for _, line in seen] == [f"{NAME}: {m}" for m in MESSAGES]
    assert seen[1][0] - seen[0][0] >= PAUSE * 0.9  # shown while the file still ran, not at its end


def test_in_a_log_each_progress_message_is_one_line() -> None:
    log = io.StringIO()  # not a terminal
    with ProgressLine(log) as progress:
        for m in MESSAGES:
            progress(m)
        progress("two\nlines")
    assert log.getvalue() == "".join(f"{m}\n" for m in [*MESSAGES, "two lines"])


CHILD = """
import sys
from pathlib import Path
from ingester.migrate import migrate
from ingester.progress import ProgressLine
with ProgressLine(sys.stderr) as progress:  # as `ingester migrate` does
    migrate(sys.argv[1], schema_dir=Path(sys.argv[2]), progress=progress)
print("migrations applied", file=sys.stderr)
"""


def run_in_a_terminal(args: list[str]) -> bytes:
    """Everything a command writes to the terminal it runs in (a pseudo-terminal, as a person's shell)."""
    controller, terminal = pty.openpty()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, env=env)
    os.close(terminal)
    out = b""
    try:
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the command has ended and closed the terminal
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(controller)
        assert proc.wait(timeout=60) == 0, out.decode(errors="replace")
    return out


def test_on_a_terminal_progress_rewrites_one_line_and_ends_it_before_what_follows(
    database_url: str, tmp_path: Path
) -> None:
    out = run_in_a_terminal([sys.executable, "-c", CHILD, database_url, str(schema_with_backfill(tmp_path))])
    lines = [f"{NAME}: {m}" for m in MESSAGES]
    shown = "".join("\r" + line.ljust(len(before)) for line, before in zip(lines, ["", *lines]))
    # The terminal turns each "\n" into "\r\n".
    assert out.decode() == shown + "\r\n" + "migrations applied\r\n"


def test_the_migrate_command_prints_no_server_notice_on_a_fresh_database(empty_database_url: str) -> None:
    # A first migrate makes the server send dozens of 'does not exist, skipping' notices.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "DATABASE_URL"))}
    proc = subprocess.run([sys.executable, "-m", "ingester", "migrate"], env={**env, "DATABASE_URL": empty_database_url},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.startswith("database tier: ")
