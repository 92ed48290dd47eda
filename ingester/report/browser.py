"""PDF and PNG from the report's HTML, by Debian's headless Chromium (no Playwright, no download).

Each run gets a fresh profile directory and no network: the page is self-contained, so every
request would be a bug; `--host-resolver-rules` makes any that slipped in fail instead of leaving
the machine. The page is laid out as one A4 sheet (210 × 296 mm), so the PNG shows what the PDF prints.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-extensions", "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND", "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
)
A4_PX = (794, 1119)  # 210 × 296 mm at 96 px per inch: the .page box of the template
TIMEOUT = 120.0


class BrowserError(RuntimeError):
    """Chromium is missing or failed; `str()` is one line."""


def chromium() -> str:
    for path in CHROMIUM_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which("chromium")
    if found:
        return found
    raise BrowserError("chromium not found — install it (apt-get install chromium)")


def _run(html: str, output_flag: str, suffix: str, extra: tuple[str, ...] = ()) -> bytes:
    with tempfile.TemporaryDirectory(prefix="pulse-report-") as tmp:
        page, out, profile = Path(tmp, "report.html"), Path(tmp, f"out{suffix}"), Path(tmp, "profile")
        page.write_text(html, encoding="utf-8")
        args = [chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, f"{output_flag}={out}", page.as_uri()]
        # own process group: on a timeout the renderer and GPU helpers go with the browser
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        try:
            _, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise BrowserError(f"chromium did not finish within {TIMEOUT:.0f} s") from None
        if proc.returncode != 0 or not out.exists() or out.stat().st_size == 0:
            last = (err.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
            raise BrowserError(f"chromium failed (exit {proc.returncode}): {last[:200]}")
        return out.read_bytes()


def pdf(html: str) -> bytes:
    return _run(html, "--print-to-pdf", ".pdf")


def png(html: str, scale: float = 1.5) -> bytes:
    """A screenshot of the A4 page; `scale` sharpens it (1.5 → 1191 × 1679 pixels)."""
    w, h = A4_PX
    return _run(html, "--screenshot", ".png", (f"--window-size={w},{h}", f"--force-device-scale-factor={scale}"))
