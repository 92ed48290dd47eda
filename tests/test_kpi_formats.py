"""The hashtag -> format map: parsing the setting, the precedence rule, and writing it to SQL."""

from __future__ import annotations

import psycopg
import pytest

from ingester.formats import (
    DEFAULT_FORMATS,
    FormatMapError,
    apply_formats,
    format_of,
    parse_formats,
)


def test_an_empty_setting_gives_the_default_map() -> None:
    assert parse_formats(None) == DEFAULT_FORMATS
    assert parse_formats("  ") == DEFAULT_FORMATS
    assert dict(DEFAULT_FORMATS)["qanda"] == "qa"


def test_the_setting_is_tag_equals_format_pairs_with_hash_and_case_ignored() -> None:
    assert parse_formats("#Wonen=Housing, QenA=qa") == (("wonen", "housing"), ("qena", "qa"))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("wonen", "expected tag=format"),
        ("wo nen=housing", "is not a hashtag"),
        ("wonen=Huis vesting", "must be lower-case"),
        ("wonen=housing,WONEN=other", "mapped twice"),
    ],
)
def test_a_malformed_setting_is_one_clear_error(value: str, message: str) -> None:
    with pytest.raises(FormatMapError, match=message):
        parse_formats(value)


def test_the_first_mapped_tag_in_map_order_wins_and_unmapped_posts_are_other() -> None:
    assert format_of(["AMA", "InnovatorSpotlight"]) == "innovator_spotlight"
    assert format_of(["#QandA"]) == "qa"
    assert format_of(["wonen"]) == "other"
    assert format_of([]) == "other"


def test_sql_applies_the_same_rule_as_python(database_url: str) -> None:
    mapping = parse_formats("Wonen=housing,AMA=qa,VraagVanDeGemeente=city_question")
    cases = [["ama", "wonen"], ["VraagVanDeGemeente", "AMA"], ["#Wonen"], ["innovatorspotlight"], []]
    with psycopg.connect(database_url) as conn:
        apply_formats(conn, mapping)
        apply_formats(conn, mapping)  # idempotent
        for tags in cases:
            got = conn.execute("SELECT pulse.post_format(%s::text[])", (tags,)).fetchone()[0]
            assert got == format_of(tags, mapping), tags
        n = conn.execute("SELECT count(*) FROM pulse.formats").fetchone()[0]
    assert n == 3


def test_every_built_in_format_has_a_label_in_each_language_and_a_citys_own_format_reads_as_its_name() -> None:
    from ingester.formats import DEFAULT_FORMATS, OTHER, format_label

    for fmt in {f for _, f in DEFAULT_FORMATS} | {OTHER}:
        assert format_label(fmt, "nl") != fmt and format_label(fmt, "en") != fmt
    assert format_label("qa", "nl") == "Vragenuur" and format_label("qa", "en") == "Q&A session"
    assert format_label("buurt_vraag", "nl") == "buurt_vraag"
