"""Short-lived memory of senders and messages, as keyed hashes only. Pure (the clock is injected).

A phone number is never kept: each entry is HMAC-SHA256(process key, channel, number), the key made
at random when the process starts and never stored, so not even a memory dump plus a list of all
Dutch phone numbers links an entry back to a person after a restart. Every memory expires and has a
size bound, so a flood of (signed) requests cannot grow it without limit.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from ingester.entrylink import EntryLink
from ingester.i18n import Language
from ingester.keyword.reply import Intent, answer, classify

Clock = Callable[[], float]

ANSWER_EVERY_SECONDS = 600.0  # at most one answer per sender per 10 minutes
STOP_REMEMBERED_SECONDS = 90 * 86400.0
REPLAY_WINDOW_SECONDS = 86400.0  # Meta retries an unacknowledged webhook for days; Twilio within minutes
LIMIT = 100_000


class KeyedMemory:
    """A set of keyed hashes, each forgotten `ttl` seconds after it was last remembered."""

    def __init__(self, key: bytes, ttl: float, limit: int, clock: Clock) -> None:
        self._key, self._ttl, self._limit, self._clock = key, ttl, limit, clock
        # Insertion order is expiry order (one ttl for all): the oldest is always at the front.
        self._expiry: OrderedDict[bytes, float] = OrderedDict()

    def _hash(self, parts: tuple[str, ...]) -> bytes:
        message = "\x1f".join(parts).encode("utf-8", "surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).digest()[:16]

    def _purge(self, now: float) -> None:
        while self._expiry and next(iter(self._expiry.values())) <= now:
            self._expiry.popitem(last=False)

    def __contains__(self, parts: tuple[str, ...]) -> bool:
        self._purge(self._clock())
        return self._hash(parts) in self._expiry

    def remember(self, parts: tuple[str, ...]) -> None:
        now = self._clock()
        self._purge(now)
        digest = self._hash(parts)
        self._expiry.pop(digest, None)
        self._expiry[digest] = now + self._ttl
        while len(self._expiry) > self._limit:
            self._expiry.popitem(last=False)

    def forget(self, parts: tuple[str, ...]) -> None:
        self._expiry.pop(self._hash(parts), None)

    def __len__(self) -> int:
        self._purge(self._clock())
        return len(self._expiry)


@dataclass(frozen=True)
class Inbound:
    """One message as a provider delivered it. `sender` is the phone number: it goes no further."""

    channel: str  # "sms" | "whatsapp": also the link's source and the counter's source
    sender: str
    message_id: str | None
    text: str


@dataclass(frozen=True)
class Decision:
    intent: Intent
    outcome: str  # answered | rate_limited | stopped | replay: what the logs may say
    reply: str | None
    counted: bool  # a request for the link, to be counted once


def _sender_key(channel: str, sender: str) -> tuple[str, str]:
    digits = re.sub(r"\D", "", sender)  # "+31 6 1234…" and "316 1234…" are one person
    return (channel, digits or sender)


class Desk:
    """Decides, per message, whether and what to answer."""

    def __init__(self, entry_url: str, language: Language, clock: Clock) -> None:
        key = secrets.token_bytes(32)  # per process, never stored: see the module's docstring
        self._entry, self._lang = EntryLink(entry_url), language
        self.answered = KeyedMemory(key, ANSWER_EVERY_SECONDS, LIMIT, clock)
        self.stopped = KeyedMemory(key, STOP_REMEMBERED_SECONDS, LIMIT, clock)
        self.seen = KeyedMemory(key, REPLAY_WINDOW_SECONDS, LIMIT, clock)

    def link(self, channel: str) -> str:
        # The channel is the source code, so the page counts the visit as `sms` or `whatsapp`.
        return self._entry.for_source(channel)

    def handle(self, msg: Inbound) -> Decision:
        intent = classify(msg.text)
        if msg.message_id:
            seen_key = ("message", msg.channel, msg.message_id)
            if seen_key in self.seen:
                return Decision(intent, "replay", None, counted=False)
            self.seen.remember(seen_key)
        counted = intent is Intent.keyword
        who = _sender_key(msg.channel, msg.sender)
        # STOP and START are acknowledged outside the 10-minute limit (the person must know it worked)
        # and do not use it up: "send PRAATMEE for the link" right after START must work.
        if intent is Intent.stop:
            if who in self.stopped:  # acknowledged before: silence means silence
                return Decision(intent, "stopped", None, counted)
            self.stopped.remember(who)
            return Decision(intent, "answered", answer(intent, "", self._lang), counted)
        if intent is Intent.start and who in self.stopped:
            self.stopped.forget(who)
            return Decision(intent, "answered", answer(intent, "", self._lang), counted)
        if who in self.stopped:
            return Decision(intent, "stopped", None, counted)
        if who in self.answered:
            return Decision(intent, "rate_limited", None, counted)
        self.answered.remember(who)
        return Decision(intent, "answered", answer(intent, self.link(msg.channel), self._lang), counted)
