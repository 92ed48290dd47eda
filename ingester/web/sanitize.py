"""Mastodon sends a status's text as HTML; the page shows it through an allow-list (nh3, the
ammonia sanitiser), never as received. Kept: what Mastodon itself allows in content (paragraphs,
line breaks, links, mention/hashtag spans, emphasis, lists, quotes, code). Everything else -- scripts,
styles, event handlers, images (a third-party request), `javascript:` links -- is dropped."""

from __future__ import annotations

import nh3

TAGS = {"p", "br", "a", "span", "del", "pre", "code", "blockquote", "b", "strong", "u", "i", "em",
        "ul", "ol", "li"}
ATTRIBUTES = {"a": {"href"}, "ol": {"start", "reversed"}, "li": {"value"}}
# Mastodon shortens long links with these spans; the stylesheet hides `.invisible` like Mastodon does.
CLASSES = {"a": {"mention", "hashtag", "u-url"}, "span": {"invisible", "ellipsis", "h-card"}}


def clean_html(html: str | None) -> str:
    """Safe HTML for the page: allow-listed tags, http(s)/mailto links only, and every link marked
    `rel="nofollow noopener noreferrer ugc"` (no referrer leaks to the linked site)."""
    if not html:
        return ""
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, allowed_classes=CLASSES,
                     url_schemes={"http", "https", "mailto"}, link_rel="nofollow noopener noreferrer ugc",
                     strip_comments=True)
