"""Excel workbooks for `ingester export --format xlsx`: typed cells, streamed with bounded memory.

Rows come from a server-side cursor (a few thousand at a time) and go straight into XlsxWriter in
`constant_memory` mode, which flushes every finished row to a temporary file; so a million-row export
holds one batch of rows in memory, never the sheet. Cell types follow the column's SQL type, decided
once per column from the cursor description:

  timestamptz / timestamp / date  -> Excel date-times in the session's timezone (the configured one),
                                     without offset (Excel has no time zones)
  integers, numeric, floats       -> numbers
  arrays (tags)                   -> text, comma-joined
  everything else                 -> text

A sheet holds at most 1,048,576 rows; past that the dataset goes on in a sheet named "name (2)", ...
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
import xlsxwriter
from psycopg import sql
from xlsxwriter.worksheet import Worksheet

EXCEL_MAX_ROWS = 1_048_576  # header included
_FETCH = 5_000  # rows per round trip of the server-side cursor

# PostgreSQL type OIDs (pg_type) that need more than text.
_TIMESTAMPS = {1184, 1114}  # timestamptz, timestamp
_DATES = {1082}
_NUMBERS = {20, 21, 23, 26, 700, 701, 1700}  # int8, int2, int4, oid, float4, float8, numeric
_BOOLS = {16}

Cell = Callable[[Worksheet, int, int, Any], None]


class Book:
    """One workbook being written; `add(name, conn, query)` streams one dataset into its own sheet(s)."""

    def __init__(self, target: str | Any, max_rows: int = EXCEL_MAX_ROWS) -> None:
        self.max_rows = max_rows  # per sheet, header included
        self._wb = xlsxwriter.Workbook(
            target, {"constant_memory": True, "strings_to_numbers": False, "strings_to_urls": False}
        )
        self._header = self._wb.add_format({"bold": True, "bottom": 1})
        self._moment = self._wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self._day = self._wb.add_format({"num_format": "yyyy-mm-dd"})

    def _cell_writer(self, oid: int) -> Cell:
        if oid in _TIMESTAMPS:
            fmt = self._moment

            def moment(ws: Worksheet, r: int, c: int, v: datetime) -> None:
                # the value is already in the session timezone; Excel stores wall-clock time
                ws.write_datetime(r, c, v.replace(tzinfo=None), fmt)

            return moment
        if oid in _DATES:
            fmt = self._day
            return lambda ws, r, c, v: ws.write_datetime(r, c, datetime(v.year, v.month, v.day), fmt)
        if oid in _NUMBERS:
            return lambda ws, r, c, v: ws.write_number(r, c, float(v) if isinstance(v, Decimal) else v)
        if oid in _BOOLS:
            return lambda ws, r, c, v: ws.write_boolean(r, c, v)
        return _text

    def _sheet(self, name: str, columns: list[str], part: int) -> Worksheet:
        title = name if part == 1 else f"{name} ({part})"
        ws = self._wb.add_worksheet(title[:31])
        for c, col in enumerate(columns):
            ws.set_column(c, c, _width(col))
        ws.write_row(0, 0, columns, self._header)
        ws.freeze_panes(1, 0)
        return ws

    def add(self, name: str, conn: psycopg.Connection, query: sql.Composable,
            on_rows: Callable[[int], None] = lambda n: None) -> int:
        """Stream `query` into sheet `name`; returns the number of data rows written."""
        rows = 0
        # A named (server-side) cursor needs a transaction; iterating it fetches _FETCH rows per round trip.
        with conn.transaction(), conn.cursor(name=f"export_{name}") as cur:
            cur.itersize = _FETCH
            cur.execute(query)
            assert cur.description is not None
            columns = [d.name for d in cur.description]
            cells = [self._cell_writer(d.type_code) for d in cur.description]
            part, ws, r = 1, self._sheet(name, columns, 1), 1
            for record in cur:
                if r == self.max_rows:
                    part += 1
                    ws, r = self._sheet(name, columns, part), 1
                for c, (value, cell) in enumerate(zip(record, cells)):
                    if value is not None:
                        cell(ws, r, c, value)
                r += 1
                rows += 1
                if rows % _FETCH == 0:
                    on_rows(_FETCH)
            on_rows(rows % _FETCH)
        return rows

    def close(self) -> None:
        self._wb.close()


def _text(ws: Worksheet, r: int, c: int, v: Any) -> None:
    if isinstance(v, (list, tuple)):
        v = ",".join("" if x is None else str(x) for x in v)
    ws.write_string(r, c, str(v))


def _width(column: str) -> int:
    if column.endswith("_at") or column in ("bucket", "period_start", "period_end", "day"):
        return 19
    return max(10, len(column) + 2)
