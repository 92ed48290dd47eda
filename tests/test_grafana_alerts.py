"""Each alert rule, evaluated on the real database the way Grafana's expressions would, fires on a
drop (and on zero activity, never NoData) and stays normal on a healthy scenario."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import yaml
from test_grafana_scenario import Scenario, baseline_week, live_session

from ingester.events import InteractionKind
from ingester.grafana import alerts, build
from ingester.grafana.macros import TimeRange, expand
from ingester.i18n import DEFAULT_LANGUAGE, LANGUAGES, Language

RULES = {r.uid: r for r in alerts.rules()}
# Rules about the database rather than a channel: no rows below full TimescaleDB (tests/test_background_jobs.py).
DATABASE_RULES = {"pulse-background-jobs": "job"}  # uid -> the label naming an instance
CHANNEL_RULES = [uid for uid in RULES if uid not in DATABASE_RULES]


def steady(s: Scenario, per_day: int = 30, recent: int = 28) -> None:
    """`per_day` engagements on each of the 7 days before the last 24 h, `recent` in the last 24 h."""
    for d in range(1, 8):
        pid = s.post(timedelta(days=d, hours=23, minutes=30))
        for i in range(per_day):
            s.interact(timedelta(days=d, hours=1 + 22 * i / per_day), InteractionKind.FAVOURITE, pid, by=i)
    pid = s.post(timedelta(hours=23, minutes=30))
    for i in range(recent):
        s.interact(timedelta(hours=1 + 22 * i / max(recent, 1)), InteractionKind.FAVOURITE, pid, by=i)


def heartbeats(s: Scenario, last: timedelta) -> None:
    for i in range(20):
        s.heartbeat(last + timedelta(seconds=15 * i))


def dead_letters(s: Scenario, recent: int, earlier: int) -> None:
    for i in range(recent):
        s.dead_letter(timedelta(minutes=1 + i), f"bad frame {i}")
    for i in range(earlier):
        s.dead_letter(timedelta(hours=1 + i), f"old bad frame {i}")


Build = Callable[[Scenario], None]

CASES: list[tuple[str, str, Build, str]] = [
    ("pulse-engagement-dropped", "healthy", lambda s: steady(s, 30, 28), "Normal"),
    ("pulse-engagement-dropped", "drop", lambda s: steady(s, 30, 5), "Alerting"),
    ("pulse-engagement-dropped", "zero activity", lambda s: steady(s, 30, 0), "Alerting"),
    ("pulse-engagement-dropped", "no history yet", lambda s: None, "Normal"),
    ("pulse-qa-quiet", "healthy", lambda s: live_session(s), "Normal"),
    ("pulse-qa-quiet", "drop", lambda s: live_session(s, started=timedelta(minutes=90),
                                                     last_reply=timedelta(minutes=30)), "Alerting"),
    ("pulse-qa-quiet", "zero replies", lambda s: s.post(timedelta(minutes=25), ("AMA",)), "Alerting"),
    ("pulse-qa-quiet", "no session", lambda s: baseline_week(s), "Normal"),
    ("pulse-ingester-stalled", "healthy", lambda s: heartbeats(s, timedelta(seconds=10)), "Normal"),
    ("pulse-ingester-stalled", "drop", lambda s: heartbeats(s, timedelta(minutes=7)), "Alerting"),
    ("pulse-ingester-stalled", "never a heartbeat", lambda s: None, "Alerting"),
    ("pulse-dead-letters", "healthy", lambda s: dead_letters(s, 1, 20), "Normal"),
    ("pulse-dead-letters", "drop", lambda s: dead_letters(s, 12, 20), "Alerting"),
    ("pulse-dead-letters", "zero", lambda s: None, "Normal"),
]


def evaluate(url: str, rule: alerts.Rule) -> list[alerts.Evaluation] | str:
    now = datetime.now(UTC)
    sql = expand(rule.sql, TimeRange(now - timedelta(minutes=10), now)).sql  # relativeTimeRange 600 s
    with psycopg.connect(url) as conn:
        cur = conn.execute(sql.encode())
        return alerts.evaluate(rule, [d.name for d in cur.description], cur.fetchall())


@pytest.mark.parametrize("uid", CHANNEL_RULES)
async def test_rule_fires_on_a_drop_and_on_silence_and_stays_normal_when_healthy(database_url: str, uid: str) -> None:
    # One database per rule; each case is its own channel, i.e. its own alert instance.
    now = datetime.now(UTC)
    expected: dict[str, str] = {}
    for rule_uid, case, build_case, state in CASES:
        if rule_uid == uid:
            s = Scenario(now, channel=case.replace(" ", "-"))
            build_case(s)
            await s.write(database_url)
            expected[s.channel] = state
    assert alerts.by_channel(evaluate(database_url, RULES[uid])) == expected


async def test_rules_return_no_rows_only_when_no_channel_is_known(database_url: str) -> None:
    states = {uid: evaluate(database_url, RULES[uid]) for uid in CHANNEL_RULES}
    assert states == {uid: RULES[uid].no_data for uid in CHANNEL_RULES}
    assert states["pulse-ingester-stalled"] == "Alerting"  # nothing ever ran: that is a stall too


def test_engagement_share_is_configurable_and_validated() -> None:
    rule = {r.uid: r for r in alerts.rules(0.3)}["pulse-engagement-dropped"]
    assert (rule.threshold, rule.fires(0.29), rule.fires(0.31)) == (0.3, True, False)
    assert "30%" in rule.summary
    with pytest.raises(ValueError):
        alerts.rules(1.5)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_provisioned_rules_chain_sql_reduce_and_threshold_with_states_set(lang: Language) -> None:
    doc = yaml.safe_load((build.provisioning_dir(lang) / "alerting" / "rules.yaml").read_text())
    assert doc["apiVersion"] == 1
    (group,) = doc["groups"]
    assert {r["title"] for r in group["rules"]} == {r.title for r in alerts.rules(lang=lang)}
    for rule in group["rules"]:
        a, b, c = rule["data"]
        assert a["datasourceUid"] == "pulse-pg" and a["model"]["format"] == "table"
        assert (b["model"]["type"], b["model"]["expression"]) == ("reduce", "A")
        assert (c["model"]["type"], c["model"]["expression"], rule["condition"]) == ("threshold", "B", "C")
        assert rule["noDataState"] in {"OK", "Alerting"} and rule["execErrState"] == "Error"
        assert "$" not in rule["title"]  # Grafana interpolates env vars in titles and labels


def test_rule_titles_and_messages_follow_the_language_and_nothing_else_does() -> None:
    nl, en = alerts.rules(lang="nl"), alerts.rules(lang="en")
    assert {r.title for r in en} == {"Engagement dropped", "Live Q&A gone quiet", "Ingester stalled",
                                     "Dead letters rising", "Background job failing or aggregate lagging"}
    assert {r.title for r in nl} == {"Betrokkenheid gedaald", "Live vragenronde stilgevallen",
                                     "Ingester staat stil", "Afgekeurde invoer neemt toe",
                                     "Achtergrondtaak mislukt of aggregaat loopt achter"}
    for a, b in zip(nl, en, strict=True):
        assert (a.uid, a.sql, a.threshold, a.evaluator, a.pending, a.no_data, a.severity, a.dashboard_uid) == (
            b.uid, b.sql, b.threshold, b.evaluator, b.pending, b.no_data, b.severity, b.dashboard_uid)
        assert a.summary != b.summary and a.description != b.description
        label = "{{ $labels.%s }}" % DATABASE_RULES.get(a.uid, "channel")
        assert label in a.summary and label in b.summary
        # a value, when printed, is formatted, never printed raw with all its decimals
        assert "{{ $values.B }}" not in a.description and "{{ $values.B }}" not in b.description
        if a.uid not in DATABASE_RULES:  # (the jobs rule's value is a count of problems: its label says it all)
            assert "$values.B.Value" in a.description
    assert "50%" in nl[0].summary and "onder 50%" in nl[0].summary


def test_contact_points_and_policy_come_from_the_environment() -> None:
    folder = build.provisioning_dir(DEFAULT_LANGUAGE) / "alerting"
    points = yaml.safe_load((folder / "contact-points.yaml").read_text())["contactPoints"]
    settings = {p["name"]: p["receivers"][0]["settings"] for p in points}
    assert settings["pulse-email"]["addresses"] == "$PULSE_ALERT_EMAIL"
    assert settings["pulse-webhook"]["url"] == "$PULSE_ALERT_WEBHOOK_URL"
    policy = yaml.safe_load((folder / "policies.yaml").read_text())["policies"][0]
    assert policy["receiver"] == "$PULSE_ALERT_RECEIVER" and "channel" in policy["group_by"]
