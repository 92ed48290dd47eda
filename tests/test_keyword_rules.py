"""The keyword's pure rules: what a message means, what we answer, whom we remember and for how long."""

from __future__ import annotations

import pickle

import pytest

from ingester.keyword.memory import ANSWER_EVERY_SECONDS, Desk, Inbound, KeyedMemory
from ingester.keyword.reply import TEXTS, Intent, answer, classify

ENTRY = "https://www.amsterdam.nl/praatmee"
NUMBER = "+31612345678"

# GSM 03.38 basic character set: a text made only of these fits 160 characters per SMS segment.
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    "text",
    [
        "PRAATMEE", "praatmee", "Praatmee!", "praat mee", "PRAAT MEE graag",
        "Hoi, ik wil #praatmee", "praat-mee?", "  Praat  Mee  ",
    ],
)
def test_the_keyword_is_recognised_leniently(text: str) -> None:
    assert classify(text) is Intent.keyword


@pytest.mark.parametrize("text", ["ik praat meer met de buren", "praatmeer", "hallo", "", "mee praten", "praat"])
def test_other_texts_are_not_the_keyword(text: str) -> None:
    assert classify(text) is Intent.other


@pytest.mark.parametrize("text", ["STOP", "stop", "Stop.", " stoppen ", "AFMELDEN", "unsubscribe"])
def test_stop_words_as_the_whole_message_unsubscribe(text: str) -> None:
    assert classify(text) is Intent.stop


def test_stop_inside_a_sentence_is_not_an_unsubscribe() -> None:
    assert classify("waar is de bushalte, stop 3?") is Intent.other


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("source", ["sms", "whatsapp"])
def test_every_answer_fits_one_sms_segment(lang: str, source: str) -> None:
    for intent in Intent:
        text = answer(intent, f"{ENTRY}?bron={source}", lang)  # type: ignore[arg-type]
        assert len(text) <= 160, (intent, text)
        assert set(text) <= GSM7, (intent, set(text) - GSM7)
        assert "\n" not in text


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_keyword_answer_carries_the_link(lang: str) -> None:
    assert f"{ENTRY}?bron=sms" in answer(Intent.keyword, f"{ENTRY}?bron=sms", lang)  # type: ignore[arg-type]


def test_every_intent_has_its_own_answer_in_each_language() -> None:
    assert TEXTS.keys() == {intent.value for intent in Intent}  # no text without an intent that says it
    for intent in Intent:
        assert answer(intent, ENTRY, "nl") != answer(intent, ENTRY, "en"), intent


def _msg(text: str, mid: str | None = None, sender: str = NUMBER, channel: str = "sms") -> Inbound:
    return Inbound(channel, sender, mid, text)


def test_a_sender_gets_at_most_one_answer_per_ten_minutes() -> None:
    clock = Clock()
    desk = Desk(ENTRY, "nl", clock)
    assert desk.handle(_msg("PRAATMEE", "m1")).reply
    clock.now += ANSWER_EVERY_SECONDS - 1
    second = desk.handle(_msg("PRAATMEE", "m2"))
    assert (second.reply, second.outcome, second.counted) == (None, "rate_limited", True)
    clock.now += 1
    assert desk.handle(_msg("praat mee", "m3")).reply


def test_a_help_line_counts_as_the_answer_for_the_window() -> None:
    desk = Desk(ENTRY, "nl", Clock())
    assert desk.handle(_msg("hallo", "m1")).reply == TEXTS.text("nl", "other")
    assert desk.handle(_msg("PRAATMEE", "m2")).reply is None


def test_the_same_number_written_differently_is_one_sender() -> None:
    desk = Desk(ENTRY, "nl", Clock())
    assert desk.handle(_msg("PRAATMEE", "m1", sender="+31 6 1234 5678")).reply
    assert desk.handle(_msg("PRAATMEE", "m2", sender="31612345678")).reply is None


def test_stop_is_acknowledged_and_silences_the_sender_until_start() -> None:
    clock = Clock()
    desk = Desk(ENTRY, "nl", clock)
    assert desk.handle(_msg("STOP", "m1")).reply == TEXTS.text("nl", "stop")
    clock.now += 86400
    silent = desk.handle(_msg("PRAATMEE", "m2"))
    assert (silent.reply, silent.outcome) == (None, "stopped")
    assert desk.handle(_msg("START", "m3")).reply == TEXTS.text("nl", "start")
    assert desk.handle(_msg("PRAATMEE", "m4")).reply  # "send PRAATMEE for the link" works at once


def test_a_repeated_stop_is_acknowledged_once() -> None:
    desk = Desk(ENTRY, "nl", Clock())
    assert desk.handle(_msg("STOP", "m1")).reply
    assert desk.handle(_msg("stop", "m2")).reply is None


def test_a_replayed_message_id_is_neither_answered_nor_counted_twice() -> None:
    desk = Desk(ENTRY, "nl", Clock())
    first = desk.handle(_msg("PRAATMEE", "SM1"))
    again = desk.handle(_msg("PRAATMEE", "SM1"))
    assert (first.counted, first.outcome) == (True, "answered")
    assert (again.counted, again.outcome, again.reply) == (False, "replay", None)


def test_the_link_carries_the_channel_as_its_source() -> None:
    desk = Desk(ENTRY, "nl", Clock())
    assert f"{ENTRY}?bron=whatsapp " in (desk.handle(_msg("PRAATMEE", "w1", channel="whatsapp")).reply or "")


def test_memory_forgets_after_its_ttl_and_keeps_at_most_its_limit() -> None:
    clock = Clock()
    memory = KeyedMemory(b"k" * 32, ttl=60, limit=3, clock=clock)
    for i in range(5):
        memory.remember(("sms", str(i)))
    assert len(memory) == 3 and ("sms", "0") not in memory and ("sms", "4") in memory
    clock.now += 60
    assert len(memory) == 0


def test_memory_holds_keyed_hashes_not_numbers() -> None:
    desk = Desk(ENTRY, "nl", Clock())
    desk.handle(_msg("STOP", "SM9"))
    dump = pickle.dumps((desk.answered._expiry, desk.stopped._expiry, desk.seen._expiry))
    assert b"12345678" not in dump and b"SM9" not in dump
    other = Desk(ENTRY, "nl", Clock())  # another process: another key, so other hashes
    other.handle(_msg("STOP", "SM9"))
    assert set(desk.stopped._expiry).isdisjoint(other.stopped._expiry)
