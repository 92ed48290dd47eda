"""Expand a panel's SQL the way Grafana does before it reaches PostgreSQL (pure, no I/O).

Three passes, in Grafana's order:
1. dashboard variables (frontend `templateSrv.replace` with the SQL datasource's
   `interpolateVariable`: a single-valued variable without "All" is inserted with quotes doubled
   but *unquoted*; multi-value or include-All variables are quoted and comma-joined; a custom
   `allValue` is inserted raw; `${var:format}` picks an explicit format);
2. the global SQL substitutions (`sqleng.Interpolate`: `$__interval_ms`, `$__interval`,
   `$__unixEpochFrom()`, `$__unixEpochTo()`);
3. the PostgreSQL macro engine (`grafana-postgresql-datasource/macros.go`): `$__time`,
   `$__timeEpoch`, `$__timeFilter`, `$__timeFrom()`, `$__timeTo()`, `$__timeGroup[Alias]`
   (`time_bucket('<s>.000s',col)` with `timescaledb: true`, `floor(extract(epoch ...))` without),
   `$__unixEpoch[Nano]Filter`, `$__unixEpochNano{From,To}()`, `$__unixEpochGroup[Alias]`.

Known Grafana quirks kept on purpose: macro arguments cannot contain ')' and are split on ','.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

_MACRO = re.compile(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")
# templateSrv's variable regex: $name | [[name:fmt]] | ${name.field:fmt}
_VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}")
_INTERVAL_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|M|y)")

_DAY = timedelta(days=1)
_YEAR = timedelta(days=365)


class MacroError(ValueError):
    """A macro or variable cannot be expanded (Grafana shows the same as an interpolation error)."""


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise MacroError("time range bounds must be timezone-aware")

    @classmethod
    def last(cls, span: timedelta, now: datetime | None = None) -> TimeRange:
        end = now or datetime.now(UTC)
        return cls(end - span, end)


@dataclass(frozen=True)
class Variable:
    """The current value of a dashboard variable, as Grafana's frontend holds it."""

    name: str
    values: tuple[str, ...]  # the selection; for "All" the values of every option
    multi: bool = False
    include_all: bool = False
    all_value: str | None = None  # custom "All" value, inserted raw
    is_all: bool = False


@dataclass(frozen=True)
class Fill:
    """Grafana's gap-filling request from the third `$__timeGroup` argument (applied after the query)."""

    interval: timedelta
    mode: str  # 'null' | 'previous' | 'value'
    value: float | None = None


@dataclass(frozen=True)
class Expanded:
    sql: str
    fill: Fill | None = None
    notes: tuple[str, ...] = field(default=())


def parse_interval(text: str) -> timedelta:
    """gtime.ParseInterval: Go durations plus d, w, M (30.4 d... Grafana: year/12), y."""
    raw = text.strip().strip("'")
    parts = _INTERVAL_PART.findall(raw)
    if not parts or "".join(n + u for n, u in parts) != raw:
        raise MacroError(f"error parsing interval {text}")
    total = timedelta()
    for num, unit in parts:
        n = int(num)
        total += {
            "ms": timedelta(milliseconds=n),
            "s": timedelta(seconds=n),
            "m": timedelta(minutes=n),
            "h": timedelta(hours=n),
            "d": timedelta(days=n),
            "w": timedelta(weeks=n),
            "M": timedelta(days=365.25 * n / 12),
            "y": timedelta(days=365.25 * n),
        }[unit]
    return total


def format_interval(interval: timedelta) -> str:
    """gtime.FormatInterval: the largest whole unit, as Grafana prints `$__interval`."""
    for unit, size in (("y", _YEAR), ("d", _DAY), ("h", timedelta(hours=1)), ("m", timedelta(minutes=1)),
                       ("s", timedelta(seconds=1)), ("ms", timedelta(milliseconds=1))):
        if interval >= size:
            return f"{interval // size}{unit}"
    return "1ms"


def rfc3339(ts: datetime) -> str:
    """Go's time.RFC3339Nano in UTC: 'Z' suffix, fractional seconds without trailing zeros."""
    ts = ts.astimezone(UTC)
    base = ts.strftime("%Y-%m-%dT%H:%M:%S")
    if ts.microsecond:
        base += ("." + f"{ts.microsecond:06d}").rstrip("0")
    return base + "Z"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _format_value(var: Variable, fmt: str | None) -> str:
    if var.is_all and var.all_value is not None and fmt not in ("text", "percentencode"):
        return var.all_value  # Grafana skips formatting of custom all values
    values = list(var.values)
    if fmt is None:  # the SQL datasource's interpolateVariable
        if len(values) == 1 and not var.is_all and not (var.multi or var.include_all):
            return values[0].replace("'", "''")
        if not values:
            return ""
        return ",".join(_quote(v) for v in values)
    if fmt == "raw" or fmt == "csv":
        return ",".join(values)
    if fmt == "sqlstring":
        return ",".join(_quote(v) for v in values)
    if fmt == "singlequote":
        return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)
    if fmt == "doublequote":
        return ",".join('"' + v.replace('"', '\\"') + '"' for v in values)
    if fmt == "text":
        return "All" if var.is_all else " + ".join(values)
    raise MacroError(f"unsupported variable format {fmt!r} for ${var.name}")


def replace_variables(sql: str, variables: Mapping[str, Variable], builtins: Mapping[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(4)
        fmt = m.group(3) or m.group(6)
        if name in builtins:
            return builtins[name]
        var = variables.get(name)
        if var is None:
            return m.group(0)  # unknown names stay, as in Grafana (macros are not variables)
        return _format_value(var, fmt)

    return _VARIABLE.sub(sub, sql)


def _global(sql: str, rng: TimeRange, interval: timedelta) -> str:
    ms = int(interval / timedelta(milliseconds=1))
    sql = sql.replace("$__interval_ms", str(ms))
    sql = sql.replace("$__interval", format_interval(interval))
    sql = sql.replace("$__unixEpochFrom()", str(int(rng.start.timestamp())))
    return sql.replace("$__unixEpochTo()", str(int(rng.end.timestamp())))


def _seconds(interval: timedelta) -> str:
    """Go's %v of a float64: integral values print without a decimal point."""
    secs = interval.total_seconds()
    return str(int(secs)) if secs == int(secs) else repr(secs)


def _fill(interval: timedelta, arg: str) -> Fill:
    low = arg.strip().lower()
    if low == "null":
        return Fill(interval, "null")
    if low == "previous":
        return Fill(interval, "previous")
    try:
        return Fill(interval, "value", float(arg))
    except ValueError:
        raise MacroError(f"error parsing fill value {arg}") from None


def _macro(name: str, args: list[str], rng: TimeRange, timescaledb: bool, fills: list[Fill]) -> str:
    col = args[0] if args and args[0] else None
    if name == "__time":
        return f'{_need(col, name)} AS "time"'
    if name == "__timeEpoch":
        return f'extract(epoch from {_need(col, name)}) as "time"'
    if name == "__timeFilter":
        return f"{_need(col, name)} BETWEEN '{rfc3339(rng.start)}' AND '{rfc3339(rng.end)}'"
    if name == "__timeFrom":
        return f"'{rfc3339(rng.start)}'"
    if name == "__timeTo":
        return f"'{rfc3339(rng.end)}'"
    if name in ("__timeGroup", "__unixEpochGroup"):
        if len(args) < 2:
            raise MacroError(f"macro {name} needs time column and interval and optional fill value")
        interval = parse_interval(args[1])
        if len(args) == 3:
            fills.append(_fill(interval, args[2]))
        if name == "__unixEpochGroup":
            return f"floor(({args[0]})/{_seconds(interval)})*{_seconds(interval)}"
        if timescaledb:
            return f"time_bucket('{interval.total_seconds():.3f}s',{args[0]})"
        return f"floor(extract(epoch from {args[0]})/{_seconds(interval)})*{_seconds(interval)}"
    if name in ("__timeGroupAlias", "__unixEpochGroupAlias"):
        return _macro(name.removesuffix("Alias"), args, rng, timescaledb, fills) + ' AS "time"'
    if name == "__unixEpochFilter":
        c = _need(col, name)
        return f"{c} >= {int(rng.start.timestamp())} AND {c} <= {int(rng.end.timestamp())}"
    if name == "__unixEpochNanoFilter":
        c = _need(col, name)
        return f"{c} >= {_nanos(rng.start)} AND {c} <= {_nanos(rng.end)}"
    if name == "__unixEpochNanoFrom":
        return str(_nanos(rng.start))
    if name == "__unixEpochNanoTo":
        return str(_nanos(rng.end))
    raise MacroError(f'unknown macro "{name}"')


def _need(col: str | None, name: str) -> str:
    if col is None:
        raise MacroError(f"missing time column argument for macro {name}")
    return col


def _nanos(ts: datetime) -> int:
    return int(ts.timestamp()) * 1_000_000_000 + ts.microsecond * 1000


def expand_macros(sql: str, rng: TimeRange, *, timescaledb: bool = True) -> Expanded:
    """Only pass 3 (the datasource macro engine), for SQL whose variables are already replaced."""
    fills: list[Fill] = []
    original = sql

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "__timeGroup":  # pre-5.3 compatibility: a ',' right after means "with alias"
            at = original.find(m.group(0))
            if at >= 0 and original[at + len(m.group(0)) : at + len(m.group(0)) + 1] == ",":
                name = "__timeGroupAlias"
        args = [a.strip() for a in m.group(2).split(",")]
        return _macro(name, args, rng, timescaledb, fills)

    out = _MACRO.sub(sub, sql)
    return Expanded(out, fills[-1] if fills else None)


def expand(
    sql: str,
    rng: TimeRange,
    *,
    interval: timedelta = timedelta(minutes=1),
    variables: Mapping[str, Variable] | Sequence[Variable] = (),
    timescaledb: bool = True,
) -> Expanded:
    """All three passes: what Grafana sends to PostgreSQL for this panel query."""
    if not isinstance(variables, Mapping):
        variables = {v.name: v for v in variables}
    builtins = {
        "__interval": format_interval(interval),
        "__interval_ms": str(int(interval / timedelta(milliseconds=1))),
        "__from": str(int(rng.start.timestamp() * 1000)),
        "__to": str(int(rng.end.timestamp() * 1000)),
    }
    sql = replace_variables(sql, variables, builtins)
    sql = _global(sql, rng, interval)
    return expand_macros(sql, rng, timescaledb=timescaledb)
