"""How a command ends when it cannot do its job: one line on stderr and an exit code (README "Exit codes").

0 ok, 1 a runtime failure (a server refused or is unreachable, the ground truth differs), 2 a setting or
usage error the operator fixes before trying again. A `SettingsError` needs none of this: the command
group in `ingester.cli` prints it and exits 2 for every subcommand. This module imports nothing of the
project, so every command module can use it without importing the CLI that registers them.
"""

from __future__ import annotations

from typing import NoReturn

import typer

EXIT_OK, EXIT_FAILURE, EXIT_SETTINGS = 0, 1, 2


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """Print `ingester: <message>` on stderr and end the command with `code`."""
    typer.echo(f"ingester: {message}", err=True)
    raise typer.Exit(code)
