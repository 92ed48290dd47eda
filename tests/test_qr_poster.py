"""`ingester qr`: print-ready posters whose QR code a real decoder (zxing-cpp) reads as exactly the link.

SVG is rasterised with resvg, PDF with PDFium (pypdfium2), the PNG is read as written; nothing is decoded
from the layout model, only from the file a print shop would get.
"""

from __future__ import annotations

import io
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
import resvg_py
import zxingcpp
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from ingester.cli import app
from ingester.qr import fonts

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
    if path.suffix == ".svg":
        png = resvg_py.svg_to_bytes(
            svg_path=str(path), dpi=150, background="#ffffff", font_files=[str(f) for f in fonts.FILES.values()]
        )
        return Image.open(io.BytesIO(bytes(png))).convert("L")
    return _pdf_page(path).render(scale=150 / 72, grayscale=True).to_pil().convert("L")


def _pdf_page(path: Path) -> pdfium.PdfPage:
    return pdfium.PdfDocument(path)[0]


def _pdf_text(path: Path) -> str:
    return _pdf_page(path).get_textpage().get_text_range()


def _pdf_find(path: Path, needle: str) -> list[tuple[float, tuple[float, float, float, float]]]:
    """(font size in pt, box of the first character: left, bottom, right, top in pt from the page's foot)."""
    textpage = _pdf_page(path).get_textpage()
    searcher = textpage.search(needle, match_case=True)
    found = []
    while (hit := searcher.get_next()) is not None:
        index, _count = hit
        found.append((pdfium_c.FPDFText_GetFontSize(textpage.raw, index), textpage.get_charbox(index)))
    return found


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
        width, height = _pdf_page(_make(tmp_path, "pdf", size)).get_size()
        assert (round(width, 2), round(height, 2)) == (w, h)


def test_a4_and_a6_svgs_declare_their_paper_size_in_millimetres(tmp_path: Path) -> None:
    for size, dims in (("a4", ("210mm", "297mm")), ("a6", ("105mm", "148mm"))):
        root = ET.parse(_make(tmp_path, "svg", size)).getroot()
        assert (root.get("width"), root.get("height")) == dims


def test_a4_and_a6_pngs_are_300_dpi_at_their_paper_size(tmp_path: Path) -> None:
    for size, pixels in (("a4", (2480, 3508)), ("a6", (1240, 1748))):
        image = Image.open(_make(tmp_path, "png", size))
        assert image.size == pixels
        assert tuple(round(d) for d in image.info["dpi"]) == (300, 300)


def test_the_short_link_is_printed_large_and_the_exact_link_small_beneath_it(tmp_path: Path) -> None:
    pdf = _make(tmp_path, "pdf")
    # Two hits: the short link on its own line and the same text inside the exact link.
    (short_size, short_box), (exact_size, exact_box) = sorted(
        _pdf_find(pdf, "www.amsterdam.nl/praatmee"), key=lambda hit: -hit[0]
    )
    assert short_size >= 24  # readable from a few metres on an A4 poster
    assert exact_size < short_size / 2
    assert [size for size, _ in _pdf_find(pdf, LINK)] == [exact_size]  # the exact link, whole, in small type
    assert exact_box[3] < short_box[1]  # its top lies below the short link's foot: beneath it


def test_the_call_to_action_is_dutch_by_default_and_english_with_pulse_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "Scan de code of ga naar" in _pdf_text(_make(tmp_path, "pdf"))
    monkeypatch.setenv("PULSE_LANGUAGE", "en")
    assert "Scan the code or go to" in _pdf_text(_make(tmp_path, "pdf"))


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
    page = _pdf_page(out)
    width, height = page.get_size()
    textpage = page.get_textpage()
    assert textpage.count_chars() > 100
    for index in range(textpage.count_chars()):
        left, bottom, right, top = textpage.get_charbox(index)
        assert 0 <= left and right <= width and 0 <= bottom and top <= height
    [decoded] = _decode(_raster(out))
    assert decoded.text == f"https://www.gemeente-voorbeeldstad.nl/bewoners/praatmee?bron={bron}"
