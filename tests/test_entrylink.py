"""The entry route's link (`ingester.entrylink`): the exact link a poster's QR code and a keyword answer
carry, and the short form printed large for people to type. Exercised through `ingester qr` elsewhere
only for a plain host; here the cases a city's real URL may bring."""

from __future__ import annotations

import pytest

from ingester.entrylink import SOURCE_MAX, EntryLink, SourceError, check_source


def test_the_exact_link_appends_the_source_code() -> None:
    assert EntryLink("https://www.amsterdam.nl/praatmee").for_source("markt") == (
        "https://www.amsterdam.nl/praatmee?bron=markt"
    )


@pytest.mark.parametrize("code", ["", "Markt", "bieb oost", "-oost", "oost-", "a--b", "x" * (SOURCE_MAX + 1), "é"])
def test_the_exact_link_refuses_a_code_that_is_not_a_slug(code: str) -> None:
    with pytest.raises(SourceError):
        EntryLink("https://www.amsterdam.nl/praatmee").for_source(code)


def test_a_code_of_the_maximum_length_is_a_source() -> None:
    code = "a" * SOURCE_MAX
    assert check_source(code) == code


@pytest.mark.parametrize(
    ("base", "short"),
    [
        ("https://www.amsterdam.nl/praatmee", "www.amsterdam.nl/praatmee"),
        ("https://www.amsterdam.nl/", "www.amsterdam.nl"),  # a bare host, as pydantic spells it: no slash
        ("http://localhost:8080/praatmee/", "localhost:8080/praatmee"),  # a port is part of what to type
        ("https://xn--bcher-kva.example/praatmee", "bücher.example/praatmee"),  # as people write the domain
    ],
)
def test_the_short_link_is_what_a_person_types(base: str, short: str) -> None:
    assert EntryLink(base).short == short
