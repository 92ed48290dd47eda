"""Rows -> Mastodon JSON entities, with the key sets of the real payloads in shared/mastodon/.

Pure: everything the renderer needs (counters, accounts) comes through a `Lookup`.
"""

from __future__ import annotations

import html
import json
from datetime import datetime, timezone
from typing import Any, Protocol

from ingester.simulator.records import AccountRow, NotificationRow, StatusRow


class Lookup(Protocol):
    base_url: str

    def account(self, account_id: str) -> AccountRow: ...
    def status(self, status_id: str) -> StatusRow | None: ...
    def counters(self, status_id: str) -> tuple[int, int, int, int]: ...  # replies, reblogs, favs, quotes
    def is_admin(self, account_id: str) -> bool: ...


def ts(at: datetime) -> str:
    """Mastodon's timestamp format: UTC, milliseconds, `Z`."""
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def dumps(obj: Any) -> str:
    """Compact JSON like JSON.stringify / Rails (what goes on the wire)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _origin(look: Lookup, acc: AccountRow) -> str:
    return look.base_url if acc.domain is None else f"https://{acc.domain}"


def account_url(look: Lookup, acc: AccountRow) -> str:
    return f"{_origin(look, acc)}/@{acc.username}"


def account_uri(look: Lookup, acc: AccountRow) -> str:
    """The ActivityPub id: what the ingester hashes into a pseudonymous key."""
    if acc.domain is None:
        return f"{look.base_url}/ap/users/{acc.id}"
    return f"https://{acc.domain}/users/{acc.username}"


def account(look: Lookup, acc: AccountRow) -> dict[str, Any]:
    missing_avatar = f"{look.base_url}/avatars/original/missing.png"
    missing_header = f"{look.base_url}/headers/original/missing.png"
    return {
        "id": acc.id,
        "username": acc.username,
        "acct": acc.acct,
        "display_name": acc.display_name,
        "locked": False,
        "bot": acc.bot,
        "discoverable": True,
        "indexable": True,
        "group": False,
        "created_at": acc.created_at.astimezone(timezone.utc).strftime("%Y-%m-%dT00:00:00.000Z"),
        "note": "",
        "url": account_url(look, acc),
        "uri": account_uri(look, acc),
        "avatar": missing_avatar,
        "avatar_static": missing_avatar,
        "avatar_description": "",
        "header": missing_header,
        "header_static": missing_header,
        "header_description": "",
        "followers_count": acc.followers_count,
        "following_count": acc.following_count,
        "statuses_count": acc.statuses_count,
        "last_status_at": acc.last_status_at.strftime("%Y-%m-%d") if acc.last_status_at else None,
        "hide_collections": None,
        "show_media": True,
        "show_media_replies": True,
        "show_featured": True,
        "noindex": False,
        "feature_approval": {"automatic": [], "manual": [], "current_user": "denied"},
        "emojis": [],
        "roles": [{"id": "3", "name": "Owner", "color": ""}] if look.is_admin(acc.id) else [],
        "fields": [],
    }


def credential_account(look: Lookup, acc: AccountRow) -> dict[str, Any]:
    """verify_credentials: an Account plus `source` and `role` (entities/account-verify-credentials.json)."""
    body = account(look, acc)
    roles = body.pop("roles")
    fields = body.pop("fields")
    body["source"] = {
        "privacy": "public",
        "sensitive": False,
        "language": None,
        "note": "",
        "fields": [],
        "follow_requests_count": 0,
        "hide_collections": None,
        "discoverable": True,
        "indexable": True,
        "attribution_domains": [],
        "quote_policy": "public",
    }
    body["emojis"] = body.pop("emojis")
    body["roles"] = roles
    body["fields"] = fields
    body["role"] = {
        "id": "-99",
        "name": "",
        "permissions": "65536",
        "color": "",
        "highlighted": False,
        "collection_limit": 10,
    }
    return body


def content_html(look: Lookup, st: StatusRow) -> str:
    """The status text as Mastodon renders it: h-card mentions, hashtag links, one paragraph."""
    parts: list[str] = []
    for mid in st.mention_ids:
        acc = look.account(mid)
        parts.append(
            f'<span class="h-card" translate="no"><a href="{account_url(look, acc)}" '
            f'class="u-url mention">@<span>{html.escape(acc.username)}</span></a></span>'
        )
    parts.append(html.escape(st.text, quote=True).replace("'", "&#39;"))
    for tag in st.tags:
        parts.append(
            f'<a href="{look.base_url}/tags/{tag}" class="mention hashtag" rel="tag">#<span>{tag}</span></a>'
        )
    return "<p>" + " ".join(parts) + "</p>"


def status(look: Lookup, st: StatusRow, *, depth: int = 0) -> dict[str, Any]:
    author = look.account(st.account_id)
    replies, reblogs, favourites, quotes = look.counters(st.id)
    quote: dict[str, Any] | None = None
    if st.quote_id is not None:
        quoted = look.status(st.quote_id)
        if quoted is None or not quoted.live:
            quote = {"state": "deleted", "quoted_status": None}
        elif depth == 0:
            quote = {"state": "accepted", "quoted_status": status(look, quoted, depth=1)}
        else:  # a quote inside a quote is shallow, as in entities/status-quote.json
            quote = {"state": "accepted", "quoted_status_id": quoted.id}
    reblog = None
    if st.reblog_of_id is not None:
        original = look.status(st.reblog_of_id)
        reblog = status(look, original, depth=depth + 1) if original else None
    origin = _origin(look, author)
    body: dict[str, Any] = {
        "id": st.id,
        "created_at": ts(st.created_at),
        "in_reply_to_id": st.in_reply_to_id,
        "in_reply_to_account_id": st.in_reply_to_account_id,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": st.visibility,
        "language": st.language,
        "uri": (
            f"{look.base_url}/ap/users/{author.id}/statuses/{st.id}"
            if author.domain is None
            else f"{origin}/users/{author.username}/statuses/{st.id}"
        ),
        "url": f"{origin}/@{author.username}/{st.id}",
        "replies_count": replies,
        "reblogs_count": reblogs,
        "favourites_count": favourites,
        "quotes_count": quotes,
        "edited_at": ts(st.edited_at) if st.edited_at else None,
        "favourited": False,
        "reblogged": False,
        "muted": False,
        "bookmarked": False,
        "content": "" if reblog else content_html(look, st),
        "filtered": [],
        "reblog": reblog,
    }
    if author.domain is None:  # remote statuses carry no `application` key at all (status-quote.json)
        body["application"] = {"name": "Praatmee Pulse simulator", "website": None}
    body |= {
        "account": account(look, author),
        "media_attachments": [],
        "mentions": [
            {
                "id": acc.id,
                "username": acc.username,
                "url": account_url(look, acc),
                "acct": acc.acct,
            }
            for acc in (look.account(m) for m in st.mention_ids)
        ],
        "tags": [{"name": t, "url": f"{look.base_url}/tags/{t}"} for t in st.tags],
        "emojis": [],
        "tagged_collections": [],
        "quote": quote,
        "card": None,
        "poll": None,
        "quote_approval": {"automatic": ["public"], "manual": [], "current_user": "automatic"},
    }
    return body


def notification(look: Lookup, n: NotificationRow) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": n.id,
        "type": n.type,
        "created_at": ts(n.created_at),
        "group_key": n.group_key,
        "account": account(look, look.account(n.from_account_id)),
    }
    if n.status_id is not None:
        st = look.status(n.status_id)
        body["status"] = status(look, st) if st is not None else None
    return body
