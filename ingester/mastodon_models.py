"""Lenient pydantic models of the Mastodon payloads the normaliser reads (input side only).

They describe just the fields we use; everything else is ignored, so new server fields never break
ingestion. Lenient where real servers differ (ids sent as numbers, datetimes with or without
fractional seconds or 'Z', `null` lists), strict where a bad value would hurt later: a NUL byte or a
lone surrogate cannot be stored in PostgreSQL text, and a megabyte "status" is not a status.
Validation errors carry a location (`account.id`) that `describe_error` turns into a short reason.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Strict, StringConstraints, ValidationError
from pydantic_core import PydanticCustomError

from ingester.events import Relation

MAX_CONTENT_CHARS = 100_000  # Mastodon's own limit is 500 by default; remote HTML can be larger
MAX_ID_CHARS = 256  # snowflakes are ~18 digits; other servers' flake ids and ULIDs are short too
MAX_TEXT_CHARS = 4_096  # handles, URLs, tag names, type names


def _clean(value: str, limit: int) -> str:
    if len(value) > limit:
        raise PydanticCustomError("too_long", "longer than {limit} characters", {"limit": limit})
    if "\x00" in value:
        # PostgreSQL text cannot hold NUL; storing a mangled copy would hide the problem.
        raise PydanticCustomError("nul", "contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError(
            "surrogate", "contains invalid unicode (lone surrogate)"
        ) from None
    return value


def _text(limit: int) -> BeforeValidator:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise PydanticCustomError("not_str", "expected a string")
        return _clean(value, limit)

    return BeforeValidator(check)


def _id(value: Any) -> str:
    # Ids are strings by contract, but real servers sometimes send numbers (PROTOCOL.md §7).
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise PydanticCustomError("bad_id", "expected an id (string or integer)")
    value = _clean(value.strip(), MAX_ID_CHARS)
    if not value:
        raise PydanticCustomError("bad_id", "empty id")
    return value


def _timestamp(value: Any) -> datetime:
    """ISO-8601 with or without fractional seconds, 'Z' or offset; naive means UTC (as Mastodon).

    Deliberately not pydantic's datetime: it would turn a number (or "1700000000") into a date.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise PydanticCustomError("bad_datetime", "invalid datetime") from None
    if not isinstance(value, datetime):  # Mastodon.py hands over datetime objects already
        raise PydanticCustomError("bad_datetime", "invalid datetime")
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise PydanticCustomError("bad_datetime", "invalid datetime (out of range)") from None


def _list_or_empty(value: Any) -> Any:
    return [] if value is None else value


Id = Annotated[str, BeforeValidator(_id)]
Text = Annotated[str, _text(MAX_TEXT_CHARS)]
Content = Annotated[str, _text(MAX_CONTENT_CHARS)]
Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]
Flag = Annotated[bool, BeforeValidator(lambda v: v is True)]  # only a real `true` counts


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class MAccount(_Model):
    id: Id
    acct: Text
    uri: Text | None = None
    url: Text | None = None
    suspended: Flag = False


class MAccountRef(_Model):
    id: Id


class MMention(_Model):
    id: Id


class MTag(_Model):
    name: Text


class MQuotedStatus(_Model):
    """Only what tells whose status was quoted; the quoted status itself is not stored."""

    id: Id
    account: MAccountRef


class MQuote(_Model):
    """Quote (4.5+: `quoted_status`) or ShallowQuote (nested levels: `quoted_status_id`)."""

    state: Text | None = None
    quoted_status: MQuotedStatus | None = None
    quoted_status_id: Id | None = None

    @property
    def quoted_id(self) -> str | None:
        if self.quoted_status is not None:
            return self.quoted_status.id
        return self.quoted_status_id


class MStatus(_Model):
    id: Id
    created_at: Timestamp
    account: MAccount
    in_reply_to_id: Id | None = None
    in_reply_to_account_id: Id | None = None
    reblog: Any = None  # only "is this a boost?" matters; its content is never read
    mentions: Annotated[tuple[MMention, ...], BeforeValidator(_list_or_empty)] = ()
    tags: Annotated[tuple[MTag, ...], BeforeValidator(_list_or_empty)] = ()
    quote: MQuote | None = None
    content: Content | None = None  # absent in DELETE responses (they carry `text`)
    url: Text | None = None
    language: Text | None = None
    visibility: Text | None = None
    edited_at: Timestamp | None = None

    def relation_to(self, account_id: str, via: str | None = None) -> tuple[Relation | None, bool]:
        """How this status relates to the account (the channel), strongest first; and whether it
        mentions it. None: top-level and unrelated.

        `via` is the notification type that delivered it: a `mention` notification is itself proof
        of a mention, a `quote` notification proof of a quote (even when the quote is shallow).
        """
        mentions = via == "mention" or any(m.id == account_id for m in self.mentions)
        quoted = self.quote.quoted_status if self.quote is not None else None
        if self.account.id == account_id:
            return Relation.OWN_POST, mentions
        if via == "quote" or (quoted is not None and quoted.account.id == account_id):
            return Relation.QUOTE, mentions
        if self.in_reply_to_account_id == account_id:
            return Relation.REPLY, mentions
        if mentions:
            return Relation.MENTION, mentions
        if self.in_reply_to_id is not None:
            return Relation.OTHER, mentions  # may sit deep in one of its threads: the sink decides
        return None, mentions

    def tag_names(self) -> tuple[str, ...]:
        """Lower-case, without '#', de-duplicated in order."""
        if not self.tags:
            return ()
        return tuple(dict.fromkeys([n for t in self.tags if (n := t.name.lstrip("#").lower())]))


class MNotificationHead(_Model):
    """Just enough to route a notification by type before validating the rest."""

    id: Id
    type: Text


class MNotification(_Model):
    id: Id
    type: Text
    created_at: Timestamp
    account: MAccount
    status: MStatus | None = None


# -- the fast path ----------------------------------------------------------------------------------
# The models above run a Python function per string field (~20 per notification), which made
# validation the largest cost of ingestion. The subclasses below accept only the common, clean case
# and check it natively in pydantic-core: strict strings, length limits, a pattern that refuses NUL
# (and, because a pattern needs UTF-8, refuses lone surrogates), ids of plain id characters. Whatever
# they accept, the models above accept with the very same values; whatever they refuse is validated
# again by the models above (`validate`), which give the exact reason or accept the odd-but-valid
# input (a numeric id, an id with spaces around it).
_NO_NUL = r"^[^\x00]*$"
_FastId = Annotated[
    str, Strict(), StringConstraints(max_length=MAX_ID_CHARS, pattern=r"^[0-9A-Za-z_.:~-]+$")
]
_FastText = Annotated[str, Strict(), StringConstraints(max_length=MAX_TEXT_CHARS, pattern=_NO_NUL)]
_FastContent = Annotated[
    str, Strict(), StringConstraints(max_length=MAX_CONTENT_CHARS, pattern=_NO_NUL)
]


class _FastAccount(MAccount):
    id: _FastId
    acct: _FastText
    uri: _FastText | None = None
    url: _FastText | None = None


class _FastAccountRef(MAccountRef):
    id: _FastId


class _FastMention(MMention):
    id: _FastId


class _FastTag(MTag):
    name: _FastText


class _FastQuotedStatus(MQuotedStatus):
    id: _FastId
    account: _FastAccountRef


class _FastQuote(MQuote):
    state: _FastText | None = None
    quoted_status: _FastQuotedStatus | None = None
    quoted_status_id: _FastId | None = None


class _FastStatus(MStatus):
    id: _FastId
    account: _FastAccount
    in_reply_to_id: _FastId | None = None
    in_reply_to_account_id: _FastId | None = None
    mentions: Annotated[tuple[_FastMention, ...], BeforeValidator(_list_or_empty)] = ()
    tags: Annotated[tuple[_FastTag, ...], BeforeValidator(_list_or_empty)] = ()
    quote: _FastQuote | None = None
    content: _FastContent | None = None
    url: _FastText | None = None
    language: _FastText | None = None
    visibility: _FastText | None = None


class _FastNotificationHead(MNotificationHead):
    id: _FastId
    type: _FastText


class _FastNotification(MNotification):
    id: _FastId
    type: _FastText
    account: _FastAccount
    status: _FastStatus | None = None


M = TypeVar("M", MStatus, MNotification, MNotificationHead)
_FAST: dict[type[BaseModel], type[BaseModel]] = {
    MStatus: _FastStatus,
    MNotification: _FastNotification,
    MNotificationHead: _FastNotificationHead,
}


def validate_fast(model: type[M], payload: Any) -> M | None:
    """The fast path alone: what `validate` would return, or None where it needs the careful one."""
    try:
        return _FAST[model].model_validate(payload)  # type: ignore[return-value]
    except ValidationError:
        return None


def validate(model: type[M], payload: Any) -> M:
    """`model.model_validate(payload)`, fast for clean input; same result, same errors."""
    fast = validate_fast(model, payload)
    return fast if fast is not None else model.model_validate(payload)


_TYPE_MESSAGES = {
    "missing": "missing",
    "model_type": "expected a JSON object",
    "model_attributes_type": "expected a JSON object",
    "dict_type": "expected a JSON object",
    "tuple_type": "expected a list",
}


def describe_error(entity: str, exc: ValidationError) -> str:
    """'status.account.id: missing' — the first problem, its path, and how many more there are."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    path = entity
    for part in first.get("loc", ()):
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    message = _TYPE_MESSAGES.get(first.get("type", ""), first.get("msg", "invalid"))
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{path}: {message}{more}"


__all__ = [
    "MAX_CONTENT_CHARS",
    "MAccount",
    "MNotification",
    "MNotificationHead",
    "MQuote",
    "MStatus",
    "describe_error",
    "validate",
    "validate_fast",
]
