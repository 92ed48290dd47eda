"""QR posters and stickers for the entry route: `ingester qr --bron <code>`.

`poster.py` lays a page out (pure: the QR matrix from segno, text sizes from the font's metrics);
`svg.py`, `png.py` and `pdf.py` draw that one layout; `command.py` is the CLI edge.
"""
