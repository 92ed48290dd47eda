"""Plain typed builders for Grafana dashboard JSON (schemaVersion 39, Grafana 10-12).

Each panel declares the frame its visualisation needs (`Frame`): the tests run every query against
a real database and check the result against that declaration, so the JSON here and the SQL
cannot drift apart silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ingester.grafana import DATASOURCE_REF

SCHEMA_VERSION = 39
GRID_WIDTH = 24


class Frame(StrEnum):
    SERIES = "series"  # a sorted time column plus numeric columns (wide, or long with a `metric` column)
    TABLE = "table"  # exactly the declared columns
    STAT = "stat"  # one row, one numeric value


@dataclass(frozen=True)
class Query:
    sql: str
    frame: Frame
    columns: tuple[str, ...] = ()  # for TABLE: the declared columns, in order
    ref_id: str = "A"

    def target(self) -> dict[str, Any]:
        return {
            "refId": self.ref_id,
            "datasource": DATASOURCE_REF,
            "editorMode": "code",
            "rawQuery": True,
            "format": "time_series" if self.frame is Frame.SERIES else "table",
            "rawSql": self.sql.strip(),
        }


@dataclass(frozen=True)
class Link:
    column: str
    title: str
    url: str  # Grafana data-link template, e.g. "${__value.raw}"
    new_tab: bool = True


@dataclass(frozen=True)
class Field:
    """How one result column is shown: a translated header/legend name, its unit and decimals.

    The SQL column name stays the stable identifier (the same in every language); Grafana shows
    `title` through a `displayName` override. `mappings` turn raw values into words (`true` -> `ja`).
    """

    column: str
    title: str
    unit: str | None = None
    decimals: int | None = None
    mappings: tuple[tuple[str, str], ...] = ()
    # further override properties as (id, value), e.g. ("custom.cellOptions", {"type": "color-text"})
    extra: tuple[tuple[str, Any], ...] = ()

    def override(self) -> dict[str, Any]:
        props: list[dict[str, Any]] = [{"id": "displayName", "value": self.title}]
        if self.unit:
            props.append({"id": "unit", "value": self.unit})
        if self.decimals is not None:
            props.append({"id": "decimals", "value": self.decimals})
        if self.mappings:
            props.append({"id": "mappings", "value": [{"type": "value", "options": {
                raw: {"text": text, "index": i} for i, (raw, text) in enumerate(self.mappings)}}]})
        props += [{"id": key, "value": value} for key, value in self.extra]
        return {"matcher": {"id": "byName", "options": self.column}, "properties": props}


@dataclass(frozen=True)
class Panel:
    key: str  # stable, language-independent name for tests and code (unique per board); never shown
    title: str
    kind: str  # timeseries | stat | table | barchart | state-timeline
    query: Query
    description: str
    width: int = 12
    height: int = 8
    unit: str | None = None
    decimals: int | None = None
    links: tuple[Link, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    stacked: bool = False
    fields: tuple[Field, ...] = ()
    # (raw value, text, colour): a stat or state shown as words. Grafana reads value mappings from the
    # field config only; under `options` it ignores them and shows the bare number.
    mappings: tuple[tuple[str, str, str], ...] = ()
    no_value: str | None = None  # shown instead of Grafana's "No data" when the query returns no rows
    # Grafana's "Min interval": $__interval (and so $__timeGroup's buckets and its gap filling) never
    # goes below it, however narrow the time range
    interval: str | None = None

    def to_json(self, panel_id: int, x: int, y: int) -> dict[str, Any]:
        defaults: dict[str, Any] = {}
        if self.unit:
            defaults["unit"] = self.unit
        if self.decimals is not None:
            defaults["decimals"] = self.decimals
        if self.kind == "timeseries":
            defaults["custom"] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10,
                                  "spanNulls": False, "showPoints": "never"}
            if self.stacked:
                defaults["custom"]["stacking"] = {"mode": "normal", "group": "A"}
        if self.mappings:
            defaults["mappings"] = [{"type": "value", "options": {
                raw: {"text": text, "color": color} for raw, text, color in self.mappings}}]
        if self.no_value:
            defaults["noValue"] = self.no_value
        overrides = [f.override() for f in self.fields] + [
            {
                "matcher": {"id": "byName", "options": link.column},
                "properties": [{"id": "links", "value": [
                    {"title": link.title, "url": link.url, "targetBlank": link.new_tab}]}],
            }
            for link in self.links
        ]
        out = {
            "id": panel_id,
            "type": self.kind,
            "title": self.title,
            "description": self.description,
            "datasource": DATASOURCE_REF,
            "gridPos": {"h": self.height, "w": self.width, "x": x, "y": y},
            "targets": [self.query.target()],
            "fieldConfig": {"defaults": defaults, "overrides": overrides},
            "options": self.options,
        }
        if self.interval:
            out["interval"] = self.interval
        return out


@dataclass(frozen=True)
class Row:
    title: str


@dataclass(frozen=True)
class QueryVariable:
    name: str
    label: str
    sql: str
    include_all: bool = False
    all_value: str | None = None
    multi: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": "query",
            "datasource": DATASOURCE_REF,
            "query": self.sql.strip(),
            "definition": self.sql.strip(),
            "refresh": 2,  # on time range change, so new channels/posts appear
            "includeAll": self.include_all,
            "multi": self.multi,
            "sort": 0,
            "current": {},
            "options": [],
        }
        if self.all_value is not None:
            out["allValue"] = self.all_value
        return out


@dataclass(frozen=True)
class Annotation:
    name: str
    sql: str
    color: str = "blue"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "datasource": DATASOURCE_REF,
            "enable": True,
            "iconColor": self.color,
            "target": {"refId": "Anno", "format": "table", "rawQuery": True, "editorMode": "code",
                       "rawSql": self.sql.strip()},
        }


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    items: tuple[Panel | Row, ...]
    variables: tuple[QueryVariable, ...] = ()
    annotations: tuple[Annotation, ...] = ()
    time_from: str = "now-7d"
    refresh: str = ""
    tags: tuple[str, ...] = ("praatmee-pulse",)
    menu: str = ""  # label of a drop-down of the boards with the same tags, in the board's language; "" = none

    @property
    def panels(self) -> list[Panel]:
        return [p for p in self.items if isinstance(p, Panel)]

    def to_json(self) -> dict[str, Any]:
        panels: list[dict[str, Any]] = []
        x = y = row_h = 0
        next_id = 1
        for item in self.items:
            if isinstance(item, Row):
                if x:
                    y, x, row_h = y + row_h, 0, 0
                panels.append({"id": next_id, "type": "row", "title": item.title, "collapsed": False,
                               "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y}, "panels": []})
                next_id += 1
                y += 1
                continue
            if x + item.width > GRID_WIDTH:
                y, x, row_h = y + row_h, 0, 0
            panels.append(item.to_json(next_id, x, y))
            next_id += 1
            x += item.width
            row_h = max(row_h, item.height)
        builtin = {
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
            "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard",
        }
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "timezone": "browser",
            "editable": True,
            "graphTooltip": 1,
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "refresh": self.refresh,
            "time": {"from": self.time_from, "to": "now"},
            "timepicker": {},
            "fiscalYearStartMonth": 0,
            "liveNow": False,
            "links": [
                {"type": "dashboards", "tags": list(self.tags), "asDropdown": True,
                 "title": self.menu, "includeVars": True, "keepTime": True}
            ] if self.menu else [],
            "annotations": {"list": [builtin, *(a.to_json() for a in self.annotations)]},
            "templating": {"list": [v.to_json() for v in self.variables]},
            "panels": panels,
        }
