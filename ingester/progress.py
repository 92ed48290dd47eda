"""Progress of long migration steps, from the server to the operator's terminal.

A migration that runs for minutes (the first `ingester migrate` after an upgrade rebuilds structures from
the stored events) reports how far it is with PL/pgSQL `RAISE NOTICE 'rollups: 12/90 days'`. `migrate`
passes exactly those notices on; the server's other notices (`relation … already exists, skipping` and
the like) are noise and stay hidden. `ProgressLine` shows them on stderr: on a terminal one line rewritten
in place, in a log (a pipe or a file) one line per message.
"""

from __future__ import annotations

from types import TracebackType
from typing import TextIO

from psycopg.errors import Diagnostic

# The C function PostgreSQL names as the source of every PL/pgSQL RAISE (pl_exec.c); the server's own
# notices come from elsewhere (transformCreateStmt, DropErrorMsgNonExistent, …).
RAISED_BY = "exec_stmt_raise"


def raised_by_sql(diag: Diagnostic) -> bool:
    """Is this notice a `RAISE NOTICE` (or `RAISE INFO`) written in a schema file?"""
    return diag.severity_nonlocalized in ("NOTICE", "INFO") and diag.source_function == RAISED_BY


class ProgressLine:
    """Writes progress messages to `stream`; on a terminal each one replaces the one before."""

    def __init__(self, stream: TextIO, *, terminal: bool | None = None) -> None:
        self._stream = stream
        self._terminal = stream.isatty() if terminal is None else terminal
        self._shown = 0  # characters of the line now on the terminal, 0 when none is open

    def __call__(self, message: str) -> None:
        text = " ".join(message.split())  # one line, whatever the SQL raised
        if self._terminal:
            # Pad over the longer line before it rather than rely on an escape sequence.
            self._stream.write("\r" + text.ljust(self._shown))
            self._shown = max(len(text), 1)
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def close(self) -> None:
        """End the open terminal line, so that what is printed next starts on a line of its own."""
        if self._shown:
            self._stream.write("\n")
            self._stream.flush()
            self._shown = 0

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()
