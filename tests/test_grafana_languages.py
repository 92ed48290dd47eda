"""The Dutch and English boards are the same boards: only the texts a person reads differ.

Identifiers (board uids, panel ids and layout, variable names, SQL column names, alert rule uids and
queries) are equal between the languages; every text differs from its counterpart, and neither
language's texts contain the other's common words.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingester.grafana import alerts, build
from ingester.i18n import Catalog

# Texts that are the same word in Dutch and English.
SAME_IN_BOTH = {"Account", "Accounts", "Boosts", "Link",
                "Annotations & Alerts"}  # Grafana's built-in annotation, which Grafana itself labels
# Common words that give a text away as the other language (whole words, case-insensitive).
GIVE_AWAY = {
    "nl": {"the", "and", "with", "without", "replies", "reply", "from", "when", "which", "per minute of"},
    "en": {"de", "het", "een", "van", "en", "reacties", "zonder", "wacht", "berichten"},
}
_LITERAL = re.compile(r"'(?:[^']|'')*'")


def _is_text(doc: dict[str, Any], key: str, path: str) -> bool:
    if key == "value":
        return doc.get("id") == "displayName"
    if key == "name" and ".templating" in path:
        return False  # a variable's name is its identifier ($channel, $session)
    return key in ("title", "description", "label", "name", "text", "noValue") and isinstance(doc[key], str)


def boards(lang: str) -> list[dict[str, Any]]:
    return [b.to_json() for b in build.dashboards(lang)]  # type: ignore[arg-type]


def texts(nl: Any, en: Any, path: str = "") -> Iterator[tuple[str, str, str]]:
    """Walk two documents of the same shape; yield (path, nl, en) for every text a person reads."""
    if isinstance(nl, dict):
        assert isinstance(en, dict) and nl.keys() == en.keys(), path
        for key in nl:
            here = f"{path}.{key}"
            if _is_text(nl, key, here):
                yield here, nl[key], en[key]
            else:
                yield from texts(nl[key], en[key], here)
    elif isinstance(nl, list):
        assert isinstance(en, list) and len(nl) == len(en), path
        for i, (a, b) in enumerate(zip(nl, en, strict=True)):
            yield from texts(a, b, f"{path}[{i}]")


def identifiers(doc: Any, path: str = "") -> Any:
    """The document without its texts: SQL with string literals blanked, texts dropped."""
    if isinstance(doc, dict):
        out = {}
        for key, value in doc.items():
            here = f"{path}.{key}"
            if _is_text(doc, key, here):
                continue
            if key in ("rawSql", "query", "definition") and isinstance(value, str):
                out[key] = _LITERAL.sub("''", re.sub(r"--[^\n]*", "", value))  # comments may hold quotes
            else:
                out[key] = identifiers(value, here)
        return out
    if isinstance(doc, list):
        return [identifiers(v, f"{path}[{i}]") for i, v in enumerate(doc)]
    return doc


@pytest.mark.parametrize("index", range(len(build.dashboards())))
def test_boards_have_the_same_uids_panels_variables_columns_and_sql_in_both_languages(index: int) -> None:
    nl, en = boards("nl")[index], boards("en")[index]
    assert identifiers(nl) == identifiers(en)
    assert nl["uid"] == en["uid"] and [p["id"] for p in nl["panels"]] == [p["id"] for p in en["panels"]]
    columns = [[o["matcher"]["options"] for o in p.get("fieldConfig", {}).get("overrides", [])] for p in nl["panels"]]
    assert columns == [[o["matcher"]["options"] for o in p.get("fieldConfig", {}).get("overrides", [])]
                       for p in en["panels"]]


def test_every_text_of_the_nl_boards_differs_from_its_english_counterpart() -> None:
    found = list(texts(boards("nl"), boards("en")))
    assert len(found) > 200  # titles, descriptions, headers, labels, link titles, value mappings
    same = [(path, a) for path, a, b in found if a == b and a not in SAME_IN_BOTH and a]
    assert same == [], f"not translated: {same[:10]}"


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_no_text_contains_the_other_languages_common_words(lang: str) -> None:
    other = "en" if lang == "nl" else "nl"
    found = [(path, nl if lang == "nl" else en) for path, nl, en in texts(boards("nl"), boards("en"))]
    found += [(r.uid, s) for r in alerts.rules(lang=lang) for s in (r.title, r.summary, r.description)]  # type: ignore[arg-type]
    words = GIVE_AWAY[lang]
    leaks = [(path, text) for path, text in found
             if any(re.search(rf"(?i)(?<![\w#]){re.escape(w)}(?!\w)", text) for w in words)]
    assert leaks == [], f"{other} words in the {lang} texts: {leaks[:10]}"


def test_alert_rules_keep_uids_queries_and_labels_in_both_languages() -> None:
    nl, en = _without_annotations(alerts.rules_file(lang="nl")), _without_annotations(alerts.rules_file(lang="en"))
    assert [r["uid"] for r in nl] == [r.uid for r in alerts.rules()]  # every rule is compared, not an empty list
    assert nl == en


def _without_annotations(doc: dict[str, Any]) -> Any:
    return [{k: v for k, v in rule.items() if k not in ("title", "annotations")}
            for group in doc["groups"] for rule in group["rules"]]


def test_a_catalogue_missing_a_text_in_one_language_is_refused() -> None:
    with pytest.raises(ValueError, match="differs"):
        Catalog({"nl": {"title": "Kanaaloverzicht", "extra": "x"}, "en": {"title": "Channel overview"}})


def test_build_writes_one_language_into_a_folder_and_check_names_a_stale_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert build.main(["--language", "en", "--out", str(tmp_path)]) == 0
    live = tmp_path / "dashboards" / "pulse" / "pulse-live.json"
    assert json.loads(live.read_text())["title"] == "Live Q&A"
    assert build.main(["--check", "--language", "en", "--out", str(tmp_path)]) == 0
    live.write_text(live.read_text().replace("Live Q&A", "Live Q and A"))
    assert build.main(["--check", "--language", "en", "--out", str(tmp_path)]) == 1
    assert "dashboards/pulse/pulse-live.json" in capsys.readouterr().err
    assert build.main(["--check", "--language", "nl", "--out", str(tmp_path)]) == 1  # an en set is not nl
