"""CSV for a Dutch-locale Excel (`ingester export --format csv --dialect excel-nl`).

Dutch Excel splits columns on ';', reads ',' as the decimal separator, needs a byte-order mark to
take the file as UTF-8, and understands `2026-12-07 08:25:16` but not `2026-12-07 08:25:16.789+01`
or `{qena,ama}`. The conversion happens in SQL around the export's own query, so the rows still
stream through COPY: the Python side only writes the BOM and passes the bytes on.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

BOM = "\ufeff".encode("utf-8")

_TIMESTAMPS = {1184, 1114}  # timestamptz, timestamp: rendered in the session timezone (the configured one)
_DECIMALS = {700, 701, 1700}  # float4, float8, numeric
_ARRAYS = {1009, 1015, 1016, 1007, 1005}  # text[], varchar[], int8[], int4[], int2[]


def excel_nl_query(conn: psycopg.Connection, query: sql.Composable) -> sql.Composed:
    """`query` wrapped so that every value reads right in Dutch Excel (same columns, same order)."""
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT * FROM ({}) q LIMIT 0").format(query))
        assert cur.description is not None
        columns = [(d.name, d.type_code) for d in cur.description]
    parts = []
    for name, oid in columns:
        col = sql.SQL("q.{}").format(sql.Identifier(name))
        if oid in _TIMESTAMPS:
            expr = sql.SQL("to_char({}, 'YYYY-MM-DD HH24:MI:SS')").format(col)
        elif oid in _DECIMALS:
            # via numeric: a plain decimal (never 1e-05), then the Dutch decimal comma
            expr = sql.SQL("replace({}::numeric::text, '.', ',')").format(col)
        elif oid in _ARRAYS:
            expr = sql.SQL("array_to_string({}, ',')").format(col)
        else:
            expr = col
        parts.append(sql.SQL("{} AS {}").format(expr, sql.Identifier(name)))
    return sql.SQL("SELECT {} FROM ({}) q").format(sql.SQL(", ").join(parts), query)


# COPY of the wrapped query: ';' between fields, quotes only where a value needs them.
COPY_SQL = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER, DELIMITER ';', ENCODING 'UTF8')")
