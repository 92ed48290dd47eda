"""`ingester qr --bron <code>`: write a print-ready poster (A4) or sticker (A6) for one source."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ingester.exits import EXIT_SETTINGS, fail
from ingester.entrylink import SourceError, check_source
from ingester.settings import poster_only

HEADLINE_MAX = 80


def qr(
    bron: Annotated[str, typer.Option("--bron", help="source code printed into the link, e.g. bibliotheek-oost")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="svg | png | pdf (default: from -o's extension, else pdf)")
    ] = None,
    size: Annotated[str, typer.Option("--size", help="a4 (poster) | a6 (sticker)")] = "a4",
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", help="file to write; '-' for stdout (default: praatmee-<bron>-<size>.<format>)"),
    ] = None,
    cta: Annotated[
        str | None, typer.Option("--cta", help="headline instead of the default call to action")
    ] = None,
) -> None:
    """Make a QR poster or sticker: the code (error correction H), the short link in large type, the call to action.

    The link is PULSE_ENTRY_URL with ?bron=<code>; texts follow PULSE_LANGUAGE (nl or en).
    """
    from ingester.qr.poster import Format, Size, layout
    from ingester.qr.render import render

    try:
        check_source(bron)
    except SourceError as exc:
        fail(f"--bron {exc} — use a code such as bibliotheek-oost", EXIT_SETTINGS)
    try:
        chosen_size = Size(size.lower())
    except ValueError:
        fail("--size must be a4 or a6", EXIT_SETTINGS)
    suffix = Path(output).suffix.lower().lstrip(".") if output and output != "-" else ""
    try:
        chosen = Format((fmt or suffix or "pdf").lower())
    except ValueError:
        fail("--format must be svg, png or pdf", EXIT_SETTINGS)
    if fmt and suffix in Format.__members__ and suffix != chosen.value:
        fail(f"-o ends in .{suffix} but --format is {chosen.value} — make them agree", EXIT_SETTINGS)
    if cta is not None and not (0 < len(cta.strip()) <= HEADLINE_MAX):
        fail(f"--cta must hold 1 to {HEADLINE_MAX} characters", EXIT_SETTINGS)
    settings = poster_only()  # a SettingsError reaches the command group: one line per problem, exit 2
    try:
        poster = layout(settings, bron, chosen_size, headline=cta)
    except ValueError as exc:  # a headline too long to leave the code a printable size
        fail(f"--cta: {exc}", EXIT_SETTINGS)
    data = render(poster, chosen)

    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = Path(output or f"praatmee-{bron}-{chosen_size.value}.{chosen.value}")
    try:
        target.write_bytes(data)
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror or exc} — choose another path with -o")
    typer.echo(f"{target}: {chosen_size.value.upper()} {chosen.value.upper()}, QR code for {poster.link}")


def register(app: typer.Typer) -> None:
    app.command("qr")(qr)
