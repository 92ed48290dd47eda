"""The normaliser, spec by example: real payloads from shared/mastodon in, expected events out."""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from ingester.events import (
    Account,
    AccountGoneEvent,
    DeadLetter,
    DeleteEvent,
    EditEvent,
    Event,
    InteractionEvent,
    InteractionKind,
    Relation,
    Source,
    StatusEvent,
)
from ingester.frames import MalformedFrame, StreamError, StreamEvent, decode_ws_frame
from ingester.identity import account_identifier, account_key
from ingester.normalize import (
    ChannelContext,
    normalize_notification,
    normalize_status,
    normalize_stream,
)
from tests.conftest import MASTODON, require_corpus, TEST_SALT

require_corpus()  # golden inputs are the recorded payloads

ENTITIES = MASTODON / "entities"
WS_EVENTS = MASTODON / "streaming" / "websocket" / "events"
RECEIVED = datetime(2026, 8, 2, 12, 0, tzinfo=timezone.utc)

# The account each recording was made for (the notified / mentioned account).
LOCAL_46 = "117020565966271181"  # mastodonpy_test on the 4.6.4 dev server
LOCAL_46_AUTHOR_2 = "117020566092212359"  # mastodonpy_test_2 on the same server
LOCAL_43 = "113997362795514921"  # mastodonpy_test on the 4.3.0 dev server
STREAM_USER = "117020617404561855"  # mastodonpy_test in the streaming recordings
SOCIAL = "43"  # halcy@mastodon.social, owner of the mastodon.social recordings
DOCS = "14715"  # trwnh, the recipient in the documentation example


def ctx(account_id: str) -> ChannelContext:
    return ChannelContext(channel="amsterdam", account_id=account_id, salt=TEST_SALT)


def load(name: str) -> Any:
    return json.loads((ENTITIES / name).read_text())


def load_jsonc(path: Path) -> Any:
    """The docs example elides fields with `// ...` lines; drop them and the dangling commas."""
    text = "\n".join(ln for ln in path.read_text().splitlines() if not ln.strip().startswith("//"))
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", text))


def key(uri: str) -> str:
    return account_key(uri, TEST_SALT)


def only(events: list[Event]) -> Event:
    assert len(events) == 1, events
    return events[0]


def summary(events: list[Event]) -> list[str]:
    out = []
    for e in events:
        if isinstance(e, StatusEvent):
            out.append(f"{e.relation.value} {e.status_id}")
        elif isinstance(e, EditEvent):
            out.append(f"edit {e.status.relation.value} {e.status.status_id}")
        elif isinstance(e, InteractionEvent):
            out.append(f"{e.kind.value} {e.notification_id}")
        elif isinstance(e, DeadLetter):
            out.append(f"dead: {e.reason}")
        else:
            out.append(e.type)
    return out


# -- golden sweep: every status and notification payload in shared/mastodon ------------------------

NOTIFICATION_FILES = {
    "notification-mention.json": (LOCAL_46, ["mention 117020576916218297"]),
    "raw/notification-mention.mastodon-4.6.4.json": (LOCAL_46, ["mention 117020576916218297"]),
    "notification-mention-reply.json": (LOCAL_43, ["reply 113997373660195159"]),
    "notification-mention-status-null.json": (
        SOCIAL,
        ["dead: mention notification 550622655 without status"],
    ),
    "notification-follow.json": (LOCAL_43, ["follow 19"]),
    "notification-status.json": (
        LOCAL_46,
        [],
    ),  # a followed account posted, unrelated to the channel
    "notification-poll.json": (LOCAL_46, []),
    "notification-follow-request.json": (LOCAL_46, []),
    "notification-admin-sign-up.json": (LOCAL_46, []),
    "notification-moderation-warning.json": (LOCAL_43, []),
    "notifications-page-types-filter.json": (LOCAL_46, ["mention 117020577834177997"]),
    "notifications-page.json": (
        LOCAL_43,
        ["mention 113997450952596818", "follow 19", "reply 113997373660195159"],
    ),
    "raw/notifications-page.mastodon-4.3.0.json": (
        LOCAL_43,
        ["mention 113997450952596818", "follow 19", "reply 113997373660195159"],
    ),
}
STATUS_FILES = {
    "status-delete-response.json": (LOCAL_46, ["mention 117020576916218297"]),
    "status-edited.json": (LOCAL_46_AUTHOR_2, ["own_post 117020586180926938"]),
    "raw/status-edited.mastodon-4.6.4.json": (LOCAL_46_AUTHOR_2, ["own_post 117020586180926938"]),
    # A reply (to halcy@hachyderm) quoting its own author's post: kept for thread resolution.
    "status-quote.json": (SOCIAL, ["other 115044073088181107"]),
    "status-reblog.json": (LOCAL_46, []),  # a boost: counted from the reblog notification instead
    "status-reply.json": (LOCAL_46_AUTHOR_2, ["reply 117020583258292382"]),
    "status-rich-remote.json": (SOCIAL, []),  # top-level, mentions only its own author
    "status-with-card.json": (SOCIAL, ["own_post 110447098625216345"]),
    "status-with-media-audio.json": (SOCIAL, ["reply 110447012773105565"]),
    "status-with-media-image.json": (SOCIAL, ["own_post 110447003454258227"]),
    "status-with-media-local.json": (LOCAL_46, ["own_post 117020576664345360"]),
    "status-with-poll-local.json": (LOCAL_46, []),
    "status-with-poll.json": (SOCIAL, []),
    "status-with-spoiler.json": (LOCAL_46, ["own_post 117020586000687987"]),
    "docs-examples/Status.json": ("1", ["own_post 103270115826048975"]),
    "hashtag-timeline-page.json": (LOCAL_46, []),  # someone else's top-level post under #hoot
    "home-timeline-page.json": (
        LOCAL_46,
        [
            "own_post 117020593473214477",
            "mention 117020592129111851",
            "own_post 117020590470221822",
            "own_post 117020588315335369",
            "mention 117020588169351887",
            "own_post 117020585762235614",
            "own_post 117020585724931720",
            "own_post 117020583000712307",
        ],
    ),
    # StatusEdit versions and the source view are not statuses: rejected with a reason.
    "status-edit-history.json": (LOCAL_46, ["dead: status.id: missing"] * 2),
    "status-source.json": (LOCAL_46, ["dead: status.created_at: missing (+1 more)"]),
}


def items(name: str) -> list[Any]:
    data = load(name)
    return data if isinstance(data, list) else [data]


def assert_accounted(events: list[Event]) -> None:
    """Every result is either events or exactly one dead letter with a reason, never a mix."""
    dead = [e for e in events if isinstance(e, DeadLetter)]
    assert not dead or (len(events) == 1 and dead[0].reason)


@pytest.mark.parametrize("name", sorted(NOTIFICATION_FILES))
def test_every_recorded_notification_gives_the_expected_events(name: str) -> None:
    account_id, expected = NOTIFICATION_FILES[name]
    got: list[str] = []
    for payload in items(name):
        events = normalize_notification(payload, ctx(account_id), Source.REST, RECEIVED)
        assert_accounted(events)
        got += summary(events)
    assert got == expected


@pytest.mark.parametrize("name", sorted(STATUS_FILES))
def test_every_recorded_status_gives_the_expected_events(name: str) -> None:
    account_id, expected = STATUS_FILES[name]
    got: list[str] = []
    for payload in items(name):
        events = normalize_status(payload, ctx(account_id), Source.REST, RECEIVED)
        assert_accounted(events)
        got += summary(events)
    assert got == expected


def test_mastodon_social_page_keeps_its_one_mention_and_dead_letters_the_39_null_statuses() -> None:
    results = [
        normalize_notification(n, ctx(SOCIAL), Source.REST, RECEIVED)
        for n in load("notifications-page-mastodon-social.json")
    ]
    flat = [only(r) for r in results]
    assert [e.status_id for e in flat if isinstance(e, StatusEvent)] == ["116275331587890092"]
    assert sum(isinstance(e, DeadLetter) for e in flat) == 39


def test_thread_context_statuses_of_the_channel_are_own_posts() -> None:
    context = load("context.json")
    events = [
        only(normalize_status(s, ctx(SOCIAL), Source.CONTEXT, RECEIVED))
        for s in context["ancestors"] + context["descendants"]
    ]
    assert [(e.relation, e.source) for e in events] == [(Relation.OWN_POST, Source.CONTEXT)] * 2


def test_statuses_embedded_in_conversations_and_requests_normalise_without_error() -> None:
    embedded = [c["last_status"] for c in load("conversations.json")]
    embedded += [r["last_status"] for r in load("notification-requests.json")]
    for status in embedded:
        events = normalize_status(status, ctx(LOCAL_46), Source.REST, RECEIVED)
        assert not any(isinstance(e, DeadLetter) for e in events)


@pytest.mark.parametrize(
    "name",
    sorted(
        p.name
        for p in ENTITIES.glob("*group*.json")
        if p.name != "grouped-notification-accounts.json"  # a list of accounts, not notifications
    ),
)
def test_grouped_v2_notifications_are_rejected_with_a_reason(name: str) -> None:
    dead = only(normalize_notification(load(name), ctx(SOCIAL), Source.REST, RECEIVED))
    assert isinstance(dead, DeadLetter)
    assert dead.reason.startswith("grouped notification (v2 shape) is not supported")


@pytest.mark.parametrize(
    "name", sorted(p.name for p in ENTITIES.glob("grouped-notifications-page*.json"))
)
def test_statuses_of_grouped_pages_still_normalise(name: str) -> None:
    for status in load(name)["statuses"]:
        assert_accounted(normalize_status(status, ctx(SOCIAL), Source.REST, RECEIVED))
        assert not any(
            isinstance(e, DeadLetter)
            for e in normalize_status(status, ctx(SOCIAL), Source.REST, RECEIVED)
        )


@pytest.mark.parametrize("line", (WS_EVENTS / "all-frames.jsonl").read_text().splitlines())
def test_every_recorded_stream_frame_normalises_without_a_dead_letter(line: str) -> None:
    events = normalize_stream(decode_ws_frame(line), ctx(STREAM_USER), RECEIVED)
    assert not any(isinstance(e, DeadLetter) for e in events)


# -- the important cases, field by field ----------------------------------------------------------


def test_mention_notification_becomes_a_mention_status_with_a_pseudonymous_account() -> None:
    event = only(
        normalize_notification(
            load("notification-mention.json"), ctx(LOCAL_46), Source.REST, RECEIVED
        )
    )
    assert event == StatusEvent(
        channel="amsterdam",
        status_id="117020576916218297",
        created_at=datetime(2026, 8, 1, 13, 51, 39, 138000, tzinfo=timezone.utc),
        relation=Relation.MENTION,
        account=Account(
            key=key("http://localhost:3000/ap/users/117020565693913441"),
            acct="admin",
            url="http://localhost:3000/@admin",
        ),
        mentions_channel=True,
        url="http://localhost:3000/@admin/117020576916218297",
        tags=(),
        content=load("notification-mention.json")["status"]["content"],  # HTML kept as sent
        language="en",
        visibility="public",
        source=Source.REST,
    )


def test_mention_that_replies_to_the_channel_is_a_reply() -> None:
    event = only(
        normalize_notification(
            load("notification-mention-reply.json"), ctx(LOCAL_43), Source.REST, RECEIVED
        )
    )
    assert isinstance(event, StatusEvent)
    assert event.relation is Relation.REPLY
    assert (event.in_reply_to_id, event.in_reply_to_account_id) == ("113997373587303520", LOCAL_43)
    assert event.mentions_channel is True
    assert event.visibility == "direct"


def test_mention_with_null_status_is_one_dead_letter_with_the_payload_kept() -> None:
    dead = only(
        normalize_notification(
            load("notification-mention-status-null.json"), ctx(SOCIAL), Source.REST, RECEIVED
        )
    )
    assert isinstance(dead, DeadLetter)
    assert dead.reason == "mention notification 550622655 without status"
    assert json.loads(dead.payload) == load("notification-mention-status-null.json")
    assert (dead.received_at, dead.source, dead.channel) == (RECEIVED, Source.REST, "amsterdam")


def test_follow_notification_is_a_follow_interaction_without_status() -> None:
    event = only(
        normalize_notification(
            load("notification-follow.json"), ctx(LOCAL_43), Source.REST, RECEIVED
        )
    )
    assert event == InteractionEvent(
        channel="amsterdam",
        notification_id="19",
        occurred_at=datetime(2025, 2, 13, 16, 10, 24, 248000, tzinfo=timezone.utc),
        kind=InteractionKind.FOLLOW,
        status_id=None,
        account=Account(
            key=key("http://localhost:3000/users/admin"),
            acct="admin",
            url="http://localhost:3000/@admin",
        ),
        source=Source.REST,
    )


def test_documented_favourite_is_an_interaction_on_the_channel_status_at_notification_time() -> (
    None
):
    mention, favourite = load_jsonc(
        ENTITIES / "docs-examples" / "notifications-v1-mention-and-favourite.jsonc"
    )
    event = only(normalize_notification(favourite, ctx(DOCS), Source.REST, RECEIVED))
    assert isinstance(event, InteractionEvent)
    assert (event.kind, event.notification_id, event.status_id) == (
        InteractionKind.FAVOURITE,
        "34975535",
        "103186046267791694",
    )
    assert event.occurred_at == datetime(2019, 11, 23, 7, 29, 18, 903000, tzinfo=timezone.utc)
    # The docs elide uri and url: the key falls back to the namespaced handle.
    assert event.account == Account(key=key("acct:haskal@cybre.space"), acct="haskal@cybre.space")
    reply = only(normalize_notification(mention, ctx(DOCS), Source.REST, RECEIVED))
    assert isinstance(reply, StatusEvent) and reply.relation is Relation.REPLY


def test_reblog_notification_is_a_reblog_interaction() -> None:
    _, favourite = load_jsonc(
        ENTITIES / "docs-examples" / "notifications-v1-mention-and-favourite.jsonc"
    )
    event = only(
        normalize_notification({**favourite, "type": "reblog"}, ctx(DOCS), Source.STREAM, RECEIVED)
    )
    assert isinstance(event, InteractionEvent)
    assert (event.kind, event.status_id, event.source) == (
        InteractionKind.REBLOG,
        "103186046267791694",
        Source.STREAM,
    )


@pytest.mark.parametrize("kind", ["favourite", "reblog", "quote", "status", "update"])
def test_status_carrying_notification_with_null_status_is_a_dead_letter(kind: str) -> None:
    payload = {**load("notification-mention-status-null.json"), "type": kind}
    dead = only(normalize_notification(payload, ctx(SOCIAL), Source.REST, RECEIVED))
    assert (
        isinstance(dead, DeadLetter)
        and dead.reason == f"{kind} notification 550622655 without status"
    )


def test_status_update_frame_is_an_edit_with_edited_at() -> None:
    msg = decode_ws_frame((WS_EVENTS / "status.update.json").read_text())
    event = only(normalize_stream(msg, ctx(STREAM_USER), RECEIVED))
    assert isinstance(event, EditEvent)
    assert event.status.status_id == "117024236332527350"
    assert event.status.relation is Relation.OWN_POST
    assert event.status.edited_at == datetime(2026, 8, 2, 5, 22, 24, 192000, tzinfo=timezone.utc)
    assert event.status.source is Source.STREAM


def test_status_update_without_edited_at_is_stored_as_a_plain_status() -> None:
    status = json.loads((WS_EVENTS / "status.update.payload-decoded.json").read_text())
    msg = StreamEvent(("user",), "status.update", {**status, "edited_at": None})
    event = only(normalize_stream(msg, ctx(STREAM_USER), RECEIVED))
    assert isinstance(event, StatusEvent) and event.edited_at is None


def test_delete_frame_is_a_delete_observed_when_received() -> None:
    msg = decode_ws_frame((WS_EVENTS / "delete.json").read_text())
    assert normalize_stream(msg, ctx(STREAM_USER), RECEIVED) == [
        DeleteEvent(
            channel="amsterdam",
            status_id="117024236332527350",
            observed_at=RECEIVED,
            source=Source.STREAM,
        )
    ]


def test_quote_of_a_channel_status_is_a_quote_with_the_quoted_id() -> None:
    status = load(
        "status-quote.json"
    )  # the recorded quote, as if the quoted post were the channel's
    status["quote"]["quoted_status"]["account"]["id"] = LOCAL_46
    event = only(normalize_status(status, ctx(LOCAL_46), Source.REST, RECEIVED))
    assert isinstance(event, StatusEvent)
    assert (event.relation, event.quoted_id) == (Relation.QUOTE, "115044070560414080")


def test_quote_notification_is_a_quote_even_with_a_shallow_quote() -> None:
    status = load("status-quote.json")
    status["quote"] = {"state": "accepted", "quoted_status_id": "999"}
    payload = {**load("notification-mention.json"), "type": "quote", "status": status}
    event = only(normalize_notification(payload, ctx(LOCAL_46), Source.REST, RECEIVED))
    assert isinstance(event, StatusEvent)
    assert (event.relation, event.quoted_id) == (Relation.QUOTE, "999")


def test_edited_status_from_rest_carries_its_edited_at() -> None:
    event = only(
        normalize_status(load("status-edited.json"), ctx(LOCAL_46_AUTHOR_2), Source.REST, RECEIVED)
    )
    assert isinstance(event, StatusEvent)
    assert event.edited_at == datetime(2026, 8, 1, 13, 54, 0, 695000, tzinfo=timezone.utc)


def test_update_notification_is_an_edit_of_a_status_the_channel_cares_about() -> None:
    payload = copy.deepcopy(load("notification-mention.json"))
    payload["type"] = "update"
    payload["status"]["edited_at"] = "2026-08-01T14:00:00.000Z"
    event = only(normalize_notification(payload, ctx(LOCAL_46), Source.REST, RECEIVED))
    assert isinstance(event, EditEvent)
    assert event.status.relation is Relation.MENTION


def test_notification_via_user_notification_stream_is_a_reply() -> None:
    msg = decode_ws_frame(
        (WS_EVENTS / "notification-via-user-notification-stream.json").read_text()
    )
    assert isinstance(msg, StreamEvent) and msg.stream == ("user:notification",)
    event = only(normalize_stream(msg, ctx(STREAM_USER), RECEIVED))
    assert isinstance(event, StatusEvent)
    assert (event.status_id, event.relation, event.source) == (
        "117024236635443611",
        Relation.REPLY,
        Source.STREAM,
    )
    assert event.account.key == key("http://localhost:3000/ap/users/117020617532860042")


# -- rules -----------------------------------------------------------------------------------------


def a_status(**changes: Any) -> dict[str, Any]:
    """The recorded 4.6.4 mention status, changed where a test says so."""
    status = copy.deepcopy(load("notification-mention.json")["status"])
    status.update(changes)
    return status


def relation_of(status: dict[str, Any], account_id: str = LOCAL_46) -> Relation | None:
    events = normalize_status(status, ctx(account_id), Source.REST, RECEIVED)
    return events[0].relation if events and isinstance(events[0], StatusEvent) else None


def test_channel_answering_in_a_thread_is_still_an_own_post() -> None:
    assert relation_of(
        a_status(in_reply_to_id="5", in_reply_to_account_id="77"), "117020565693913441"
    ) is (Relation.OWN_POST)


def test_reply_to_someone_else_without_mention_is_kept_as_other_for_thread_resolution() -> None:
    assert (
        relation_of(a_status(mentions=[], in_reply_to_id="5", in_reply_to_account_id="77"))
        is Relation.OTHER
    )


def test_unrelated_top_level_status_gives_no_event() -> None:
    assert normalize_status(a_status(mentions=[]), ctx(LOCAL_46), Source.REST, RECEIVED) == []


def test_boosts_give_no_event_even_of_the_channel_itself() -> None:
    assert (
        normalize_status(
            load("status-reblog.json"), ctx("117020565966271181"), Source.REST, RECEIVED
        )
        == []
    )


def test_tags_are_lower_case_without_hash_and_deduplicated() -> None:
    status = a_status(tags=[{"name": "Amsterdam"}, {"name": "#AMSTERDAM"}, {"name": "Fiets"}])
    event = only(normalize_status(status, ctx(LOCAL_46), Source.REST, RECEIVED))
    assert isinstance(event, StatusEvent) and event.tags == ("amsterdam", "fiets")


def test_suspended_author_also_gives_an_account_gone_event() -> None:
    status = a_status()
    status["account"]["suspended"] = True
    events = normalize_status(status, ctx(LOCAL_46), Source.REST, RECEIVED)
    assert [type(e) for e in events] == [StatusEvent, AccountGoneEvent]
    assert events[1] == AccountGoneEvent(
        channel="amsterdam",
        account_key=key("http://localhost:3000/ap/users/117020565693913441"),
        observed_at=RECEIVED,
        source=Source.REST,
    )


def test_numeric_ids_from_lenient_servers_become_strings() -> None:
    status = a_status(id=117020576916218297, mentions=[{"id": int(LOCAL_46)}])
    event = only(normalize_status(status, ctx(LOCAL_46), Source.REST, RECEIVED))
    assert isinstance(event, StatusEvent)
    assert (event.status_id, event.relation) == ("117020576916218297", Relation.MENTION)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-08-01T13:51:39Z", datetime(2026, 8, 1, 13, 51, 39, tzinfo=timezone.utc)),
        (
            "2026-08-01T13:51:39.123456Z",
            datetime(2026, 8, 1, 13, 51, 39, 123456, tzinfo=timezone.utc),
        ),
        ("2026-08-01T13:51:39", datetime(2026, 8, 1, 13, 51, 39, tzinfo=timezone.utc)),
        ("2026-08-01T15:51:39+02:00", datetime(2026, 8, 1, 13, 51, 39, tzinfo=timezone.utc)),
    ],
)
def test_datetimes_with_or_without_fraction_and_zone_are_read_as_utc(
    text: str, expected: datetime
) -> None:
    event = only(normalize_status(a_status(created_at=text), ctx(LOCAL_46), Source.REST, RECEIVED))
    assert isinstance(event, StatusEvent) and event.created_at == expected


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (a_status(created_at="yesterday"), "status.created_at: invalid datetime"),
        (a_status(created_at=1700000000), "status.created_at: invalid datetime"),
        (a_status(account=None), "status.account: expected a JSON object"),
        (a_status(content="x" * 100_001), "status.content: longer than 100000 characters"),
        (a_status(content="nul \x00 byte"), "status.content: contains a NUL character"),
        (
            a_status(content="lone \ud800 surrogate"),
            "status.content: contains invalid unicode (lone surrogate)",
        ),
        (
            a_status(mentions=[{"id": ["x"]}]),
            "status.mentions[0].id: expected an id (string or integer)",
        ),
        ([1, 2, 3], "status: expected a JSON object"),
    ],
)
def test_invalid_statuses_give_one_dead_letter_with_a_short_reason(
    payload: Any, reason: str
) -> None:
    dead = only(normalize_status(payload, ctx(LOCAL_46), Source.REST, RECEIVED))
    assert isinstance(dead, DeadLetter)
    assert dead.reason == reason
    dead.payload.encode("utf-8")  # storable: no lone surrogates left
    assert "\x00" not in dead.payload


def test_unknown_notification_type_is_a_dead_letter_naming_it() -> None:
    payload = {**load("notification-follow.json"), "type": "space_laser"}
    dead = only(normalize_notification(payload, ctx(LOCAL_43), Source.REST, RECEIVED))
    assert isinstance(dead, DeadLetter) and dead.reason == "unknown notification type 'space_laser'"


@pytest.mark.parametrize(
    "kind",
    [
        "severed_relationships",
        "annual_report",
        "added_to_collection",
        "collection_update",
        "admin.report",
    ],
)
def test_known_notification_types_without_kpi_value_give_no_event(kind: str) -> None:
    payload = {"id": "1", "type": kind, "created_at": "2026-01-01T00:00:00Z"}
    assert normalize_notification(payload, ctx(LOCAL_43), Source.REST, RECEIVED) == []


def test_non_object_notification_is_a_dead_letter() -> None:
    dead = only(normalize_notification("oops", ctx(LOCAL_43), Source.REST, RECEIVED))
    assert (
        isinstance(dead, DeadLetter)
        and dead.reason == "notification: expected a JSON object, got string"
    )


@pytest.mark.parametrize(
    "event",
    [
        "notifications_merged",
        "filters_changed",
        "announcement",
        "conversation",
        "encrypted_message",
    ],
)
def test_stream_events_without_kpi_value_give_no_event(event: str) -> None:
    assert normalize_stream(StreamEvent(("user",), event, None), ctx(STREAM_USER), RECEIVED) == []


def test_unknown_stream_event_is_a_dead_letter() -> None:
    dead = only(
        normalize_stream(StreamEvent(("user",), "brand.new", "{}"), ctx(STREAM_USER), RECEIVED)
    )
    assert isinstance(dead, DeadLetter) and dead.reason == "unknown stream event 'brand.new'"
    assert dead.payload == "{}"


def test_stream_error_gives_no_event_the_caller_logs_it() -> None:
    assert (
        normalize_stream(StreamError("Unknown stream type", 400), ctx(STREAM_USER), RECEIVED) == []
    )


def test_malformed_frame_is_a_dead_letter_with_the_raw_text() -> None:
    dead = only(
        normalize_stream(MalformedFrame("not valid JSON", "{nope"), ctx(STREAM_USER), RECEIVED)
    )
    assert isinstance(dead, DeadLetter)
    assert (dead.reason, dead.payload, dead.source) == (
        "malformed frame: not valid JSON",
        "{nope",
        Source.STREAM,
    )


def test_delete_with_a_non_id_payload_is_a_dead_letter() -> None:
    dead = only(
        normalize_stream(StreamEvent(("user",), "delete", {"id": 1}), ctx(STREAM_USER), RECEIVED)
    )
    assert isinstance(dead, DeadLetter) and "expected an id" in dead.reason


def test_dead_letter_payload_is_capped_at_64_kib() -> None:
    dead = only(
        normalize_status(a_status(content="é" * 200_000), ctx(LOCAL_46), Source.REST, RECEIVED)
    )
    assert isinstance(dead, DeadLetter)
    assert 60 * 1024 < len(dead.payload.encode("utf-8")) <= 64 * 1024
    assert dead.payload.endswith("[truncated]")


def test_tokens_in_a_dead_letter_payload_are_redacted() -> None:
    payload = {"access_token": "sekrit-token-value", "type": "mention"}
    dead = only(normalize_notification(payload, ctx(LOCAL_43), Source.REST, RECEIVED))
    assert isinstance(dead, DeadLetter) and "sekrit-token-value" not in dead.payload


def test_salt_never_appears_in_the_context_repr_or_any_event() -> None:
    context = ctx(LOCAL_46)
    assert TEST_SALT not in repr(context)
    events = normalize_notification(
        load("notification-mention.json"), context, Source.REST, RECEIVED
    )
    assert TEST_SALT not in json.dumps([e.model_dump(mode="json") for e in events])


# -- identity --------------------------------------------------------------------------------------


def test_account_key_is_deterministic_64_hex_and_depends_on_the_salt() -> None:
    uri = "https://mastodon.social/users/halcy"
    assert account_key(uri, TEST_SALT) == account_key(uri, TEST_SALT)
    assert re.fullmatch(r"[0-9a-f]{64}", account_key(uri, TEST_SALT))
    assert account_key(uri, TEST_SALT) != account_key(uri, TEST_SALT + "x")
    assert account_key(uri, TEST_SALT) != account_key(uri + "x", TEST_SALT)


def test_account_key_matches_a_known_hmac_sha256_vector() -> None:
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    assert account_key("what do ya want for nothing?", "Jefe") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_account_identifier_prefers_uri_then_url_then_namespaced_handle() -> None:
    assert account_identifier("https://a/users/x", "https://a/@x", "x") == "https://a/users/x"
    assert account_identifier(None, "https://a/@x", "x") == "https://a/@x"
    assert account_identifier(None, None, "x@a") == "acct:x@a"
    assert account_identifier(None, None, None) is None


# -- coverage of the shared folder -----------------------------------------------------------------

COVERED_ELSEWHERE = {
    "context.json",
    "conversations.json",
    "notification-requests.json",
    "notifications-page-mastodon-social.json",
    "docs-examples/notifications-v1-mention-and-favourite.jsonc",
}
NOT_STATUSES_OR_NOTIFICATIONS = {
    "account.json",
    "account-verify-credentials.json",
    "account-verify-credentials-mastodon-social.json",
    "announcements.json",
    "context-empty.json",
    "docs-examples/Account.json",
    "docs-examples/Announcement.json",
    "docs-examples/Instance-v1.json",
    "docs-examples/Instance-v2.json",
    "docs-examples/NotificationPolicy.json",
    "docs-examples/Poll.json",
    "docs-examples/Relationship.json",
    "docs-examples/Report.json",
    "favourited-by.json",
    "filters-v2.json",
    "grouped-notification-accounts.json",
    "instance-v1.json",
    "instance-v1-local.json",
    "instance-v2.json",
    "instance-v2-local.json",
    "notification-policy.json",
    "notifications-unread-count.json",
    "poll.json",
    "reblogged-by.json",
    "relationship.json",
}


def test_every_entity_file_is_either_a_golden_case_or_known_to_hold_no_status() -> None:
    every = {p.relative_to(ENTITIES).as_posix() for p in ENTITIES.rglob("*") if p.is_file()}
    grouped = {n for n in every if "group" in n and n != "grouped-notification-accounts.json"}
    covered = set(NOTIFICATION_FILES) | set(STATUS_FILES) | COVERED_ELSEWHERE | grouped
    assert every - covered - NOT_STATUSES_OR_NOTIFICATIONS == set()
