"""The macro expander produces what Grafana's own code produces.

Golden cases follow grafana/grafana `pkg/tsdb/grafana-postgresql-datasource/macros_test.go`
(time range 2018-04-12 18:00 to 18:05 UTC) and the SQL datasource's `interpolateVariable`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingester.grafana.macros import (
    Fill,
    MacroError,
    TimeRange,
    Variable,
    expand,
    expand_macros,
    format_interval,
    parse_interval,
    rfc3339,
)

FROM = datetime(2018, 4, 12, 18, 0, tzinfo=UTC)
RANGE = TimeRange(FROM, FROM + timedelta(minutes=5))


def plain(sql: str) -> str:
    return expand_macros(sql, RANGE, timescaledb=False).sql


def ts(sql: str) -> str:
    return expand_macros(sql, RANGE, timescaledb=True).sql


def test_time_filter_uses_rfc3339_bounds_in_utc() -> None:
    assert plain("WHERE $__timeFilter(time_column)") == (
        "WHERE time_column BETWEEN '2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z'")


def test_time_from_and_to_are_quoted_rfc3339() -> None:
    assert plain("select $__timeFrom(), $__timeTo()") == "select '2018-04-12T18:00:00Z', '2018-04-12T18:05:00Z'"


def test_fractional_seconds_are_printed_like_go_without_trailing_zeros() -> None:
    assert rfc3339(datetime(1960, 2, 1, 7, 0, 0, 500_000, tzinfo=UTC)) == "1960-02-01T07:00:00.5Z"


def test_time_macro_aliases_the_column_even_inside_an_aggregate() -> None:
    assert plain("select min($__time(time_column))") == 'select min(time_column AS "time")'


def test_time_group_without_timescaledb_floors_epoch_seconds() -> None:
    assert plain("SELECT $__timeGroup(time_column,'5m')") == "SELECT floor(extract(epoch from time_column)/300)*300"


def test_time_group_followed_by_a_comma_gets_the_time_alias_for_pre_5_3_dashboards() -> None:
    assert plain("SELECT $__timeGroup(time_column,'5m'), value") == (
        'SELECT floor(extract(epoch from time_column)/300)*300 AS "time", value')
    assert plain("SELECT $__timeGroup(time_column,'5m') as time, value") == (
        "SELECT floor(extract(epoch from time_column)/300)*300 as time, value")


def test_time_group_alias_equals_time_group_plus_alias_with_spaces_between_args() -> None:
    assert plain("$__timeGroupAlias(time_column , '5m')") == plain("$__timeGroup(time_column , '5m')") + ' AS "time"'


@pytest.mark.parametrize(
    ("interval", "bucket"), [("'5m'", "300.000s"), ("'12d'", "1036800.000s"), ("'20ms'", "0.020s")]
)
def test_time_group_with_timescaledb_uses_time_bucket_with_three_decimals(interval: str, bucket: str) -> None:
    assert ts(f"GROUP BY $__timeGroup(time_column , {interval})") == f"GROUP BY time_bucket('{bucket}',time_column)"


def test_unix_epoch_filters_use_seconds_and_nanoseconds() -> None:
    assert plain("select $__unixEpochFilter(time)") == "select time >= 1523556000 AND time <= 1523556300"
    assert plain("select $__unixEpochNanoFilter(time)") == (
        "select time >= 1523556000000000000 AND time <= 1523556300000000000")
    assert plain("select $__unixEpochNanoFrom(), $__unixEpochNanoTo()") == (
        "select 1523556000000000000, 1523556300000000000")


def test_unix_epoch_group_wraps_the_expression_in_parentheses() -> None:
    assert plain("SELECT $__unixEpochGroupAlias(time_column+time_adjustment,'5m')") == (
        'SELECT floor((time_column+time_adjustment)/300)*300 AS "time"')


def test_third_time_group_argument_requests_grafana_gap_filling() -> None:
    out = expand_macros("SELECT $__timeGroupAlias(t, '1m', 0)", RANGE)
    assert out.fill == Fill(timedelta(minutes=1), "value", 0.0)
    assert expand_macros("SELECT $__timeGroupAlias(t, '1m', previous)", RANGE).fill == Fill(
        timedelta(minutes=1), "previous")


def test_unknown_macro_is_an_error_like_in_grafana() -> None:
    with pytest.raises(MacroError, match="unknown macro"):
        plain("SELECT $__nope(x)")


def test_time_group_without_interval_is_an_error() -> None:
    with pytest.raises(MacroError, match="needs time column and interval"):
        plain("SELECT $__timeGroup(t)")


def test_interval_and_epoch_bounds_are_replaced_before_the_macro_engine() -> None:
    out = expand("SELECT $__interval_ms, '$__interval', $__unixEpochFrom(), $__unixEpochTo()", RANGE,
                 interval=timedelta(minutes=10))
    assert out.sql == "SELECT 600000, '10m', 1523556000, 1523556300"


def test_interval_variable_can_feed_time_group() -> None:
    out = expand("SELECT $__timeGroupAlias(t, $__interval)", RANGE, interval=timedelta(seconds=30))
    assert out.sql == "SELECT time_bucket('30.000s',t) AS \"time\""


@pytest.mark.parametrize(("text", "seconds"), [("5m", 300), ("1h", 3600), ("1d", 86400), ("1w", 604800),
                                               ("'20ms'", 0.02), ("1h30m", 5400)])
def test_intervals_parse_like_gtime(text: str, seconds: float) -> None:
    assert parse_interval(text).total_seconds() == pytest.approx(seconds)


def test_intervals_format_as_the_largest_whole_unit() -> None:
    assert [format_interval(timedelta(seconds=s)) for s in (0.0005, 0.5, 15, 90, 7200, 86400 * 3)] == [
        "1ms", "500ms", "15s", "1m", "2h", "3d"]


def test_single_value_variable_without_all_is_inserted_unquoted_with_quotes_doubled() -> None:
    v = Variable("post", ("1130'7",))
    assert expand("x = $post", RANGE, variables=[v]).sql == "x = 1130''7"


def test_single_value_variable_with_all_option_is_quoted() -> None:
    v = Variable("channel", ("amsterdam",), include_all=True, all_value="NULL")
    assert expand("c = $channel", RANGE, variables=[v]).sql == "c = 'amsterdam'"


def test_custom_all_value_is_inserted_raw() -> None:
    v = Variable("channel", ("a", "b"), include_all=True, all_value="NULL", is_all=True)
    assert expand("f($channel, ${channel})", RANGE, variables=[v]).sql == "f(NULL, NULL)"


def test_all_without_custom_value_lists_every_option_quoted() -> None:
    v = Variable("kind", ("reply", "o'clock"), multi=True, include_all=True, is_all=True)
    assert expand("k IN ($kind)", RANGE, variables=[v]).sql == "k IN ('reply','o''clock')"


def test_explicit_formats_follow_grafanas_format_registry() -> None:
    v = Variable("v", ("a'b", "c"), multi=True)
    sql = expand("${v:sqlstring} | ${v:raw} | ${v:csv} | ${v:singlequote} | ${v:doublequote} | [[v]]",
                 RANGE, variables=[v]).sql
    assert sql == "'a''b','c' | a'b,c | a'b,c | 'a\\'b','c' | \"a'b\",\"c\" | 'a''b','c'"


def test_sqlstring_quotes_a_single_value_variable() -> None:
    v = Variable("post", ("113",))
    assert expand("id = ${post:sqlstring}", RANGE, variables=[v]).sql == "id = '113'"


def test_macros_and_unknown_names_are_not_mistaken_for_variables() -> None:
    out = expand("$__timeFilter(t) AND $unknown", RANGE, variables=[Variable("t", ("x",))])
    assert out.sql == "t BETWEEN '2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z' AND $unknown"


def test_naive_time_range_is_refused() -> None:
    with pytest.raises(MacroError):
        TimeRange(datetime(2018, 1, 1), datetime(2018, 1, 2))
