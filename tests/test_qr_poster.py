"""`ingester qr`: print-ready posters whose QR code a real decoder (zxing-cpp) reads as exactly the link.

SVG and PDF are rasterised with MuPDF (PyMuPDF), the PNG is read as written; nothing is decoded from
the layout model, only from the file a print shop would get.
"""

from __future__ import annotations

import io
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pymupdf
import pytest
import zxingcpp
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from ingester.cli import app

ENTRY = "https://www.amsterdam.nl/praatmee"
LINK = f"{ENTRY}?bron=bibliotheek-oost"
A4_PT = (595.28, 841.89)
A6_PT = (297.64, 419.53)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith(("PULSE_", "MASTODON_")) or key == "DATABASE_URL":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray .env; output lands in tmp_path
    monkeypatch.setenv("PULSE_ENTRY_URL", ENTRY)


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["qr", *args])
    return result.exit_code, result.output


def _make(tmp_path: Path, fmt: str, size: str = "a4", bron: str = "bibliotheek-oost") -> Path:
    out = tmp_path / f"poster-{size}.{fmt}"
    code, output = _run("--bron", bron, "--format", fmt, "--size", size, "-o", str(out))
    assert code == 0, output
    return out


def _raster(path: Path) -> Image.Image:
    if path.suffix == ".png":
        return Image.open(path).convert("L")
    page = pymupdf.open(path)[0]  # MuPDF reads PDF and SVG alike
    pix = page.get_pixmap(dpi=150, colorspace=pymupdf.csGRAY)
    return Image.open(io.BytesIO(pix.tobytes("png")))


def _decode(image: Image.Image) -> list[zxingcpp.Barcode]:
    return zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)


@pytest.mark.parametrize("size", ["a4", "a6"])
@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_the_qr_code_decodes_to_exactly_the_link_with_its_source(tmp_path: Path, fmt: str, size: str) -> None:
    [code] = _decode(_raster(_make(tmp_path, fmt, size)))
    assert code.text == LINK
    assert code.ec_level == "H"


def test_the_code_still_reads_with_a_rain_blot_over_its_middle(tmp_path: Path) -> None:
    image = _raster(_make(tmp_path, "png", "a6"))
    [code] = _decode(image)
    (left, top), (right, bottom) = (code.position.top_left.x, code.position.top_left.y), (
        code.position.bottom_right.x,
        code.position.bottom_right.y,
    )
    cx, cy, r = (left + right) / 2, (top + bottom) / 2, (right - left) * 0.2
    ImageDraw.Draw(image).ellipse((cx - r, cy - r, cx + r, cy + r), fill=128)  # grey smudge, 40 % wide
    [smudged] = _decode(image)
    assert smudged.text == LINK


def test_a4_and_a6_pdfs_have_their_paper_size(tmp_path: Path) -> None:
    for size, (w, h) in (("a4", A4_PT), ("a6", A6_PT)):
        rect = pymupdf.open(_make(tmp_path, "pdf", size))[0].rect
        assert (round(rect.width, 2), round(rect.height, 2)) == (w, h)


def test_a4_and_a6_svgs_declare_their_paper_size_in_millimetres(tmp_path: Path) -> None:
    for size, dims in (("a4", ("210mm", "297mm")), ("a6", ("105mm", "148mm"))):
        root = ET.parse(_make(tmp_path, "svg", size)).getroot()
        assert (root.get("width"), root.get("height")) == dims


def test_a4_and_a6_pngs_are_300_dpi_at_their_paper_size(tmp_path: Path) -> None:
    for size, pixels in (("a4", (2480, 3508)), ("a6", (1240, 1748))):
        image = Image.open(_make(tmp_path, "png", size))
        assert image.size == pixels
        assert tuple(round(d) for d in image.info["dpi"]) == (300, 300)


def _spans(pdf: Path) -> dict[str, float]:
    page = pymupdf.open(pdf)[0]
    return {
        span["text"]: span["size"]
        for block in page.get_text("dict")["blocks"]
        for line in block.get("lines", [])
        for span in line["spans"]
    }


def test_the_short_link_is_printed_large_and_the_exact_link_small_beneath_it(tmp_path: Path) -> None:
    spans = _spans(_make(tmp_path, "pdf"))
    short = spans["www.amsterdam.nl/praatmee"]
    assert short >= 24  # readable from a few metres on an A4 poster
    assert spans[LINK] < short / 2
    page = pymupdf.open(tmp_path / "poster-a4.pdf")[0]
    short_box = max(page.search_for("www.amsterdam.nl/praatmee"), key=lambda r: r.height)
    [exact_box] = page.search_for("bron=bibliotheek-oost")
    assert exact_box.y0 > short_box.y1  # beneath


def test_the_call_to_action_is_dutch_by_default_and_english_with_pulse_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "Scan de code of ga naar" in _spans(_make(tmp_path, "pdf"))
    monkeypatch.setenv("PULSE_LANGUAGE", "en")
    assert "Scan the code or go to" in _spans(_make(tmp_path, "pdf"))


def test_a_headline_with_markup_is_printed_as_text(tmp_path: Path) -> None:
    out = tmp_path / "cta.svg"
    code, output = _run("--bron", "buurthuis", "--cta", "Vraag <b>het</b> & zeg het", "-o", str(out))
    assert code == 0, output
    root = ET.parse(out).getroot()  # still well-formed XML
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "Vraag <b>het</b> & zeg het" in texts


def test_the_format_follows_the_output_file_name(tmp_path: Path) -> None:
    code, _ = _run("--bron", "markt", "-o", str(tmp_path / "sticker.png"), "--size", "a6")
    assert code == 0
    assert (tmp_path / "sticker.png").read_bytes().startswith(b"\x89PNG")


def test_without_an_output_file_the_name_says_source_size_and_format(tmp_path: Path) -> None:
    code, output = _run("--bron", "markt")
    assert code == 0
    assert (tmp_path / "praatmee-markt-a4.pdf").read_bytes().startswith(b"%PDF")
    assert "https://www.amsterdam.nl/praatmee?bron=markt" in output


@pytest.mark.parametrize("bron", ["Bibliotheek", "bieb oost", "-oost", "oost-", "a--b", "x" * 41, "../etc", "é"])
def test_a_malformed_source_code_is_one_line_and_exit_code_2(bron: str) -> None:
    code, output = _run("--bron", bron)
    assert code == 2
    assert output.count("\n") == 1 and output.startswith("ingester: --bron ")


def test_a_missing_entry_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULSE_ENTRY_URL")
    code, output = _run("--bron", "markt")
    assert code == 2
    assert output.startswith("ingester: PULSE_ENTRY_URL: missing")


def test_an_entry_url_with_a_query_string_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_ENTRY_URL", ENTRY + "?utm=x")
    code, output = _run("--bron", "markt")
    assert code == 2
    assert output.startswith("ingester: PULSE_ENTRY_URL: must not contain")


def test_a_format_and_file_name_that_disagree_are_refused(tmp_path: Path) -> None:
    code, output = _run("--bron", "markt", "--format", "svg", "-o", str(tmp_path / "x.pdf"))
    assert code == 2
    assert "make them agree" in output


def test_a_long_call_to_action_and_a_long_link_stay_on_the_sticker_and_the_code_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULSE_ENTRY_URL", "https://www.gemeente-voorbeeldstad.nl/bewoners/praatmee")
    bron = "buurthuis-de-kleine-wereld-noordoost"
    out = tmp_path / "long.pdf"
    cta = "Stel je vraag aan het Innovatieteam over de nieuwe fietspaden in de buurt"
    code, output = _run("--bron", bron, "--size", "a6", "--cta", cta, "-o", str(out))
    assert code == 0, output
    page = pymupdf.open(out)[0]
    for block in page.get_text("dict")["blocks"]:
        x0, y0, x1, y1 = block["bbox"]
        assert 0 <= x0 and x1 <= page.rect.width and 0 <= y0 and y1 <= page.rect.height
    [decoded] = _decode(_raster(out))
    assert decoded.text == f"https://www.gemeente-voorbeeldstad.nl/bewoners/praatmee?bron={bron}"
