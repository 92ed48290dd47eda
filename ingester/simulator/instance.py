"""Instance v1/v2 entities (keys as entities/instance-v1-local.json and instance-v2-local.json).

Clients find the streaming host here: v2 `configuration.urls.streaming`, v1 `urls.streaming_api`.
"""

from __future__ import annotations

from typing import Any

from ingester.simulator.world import World

VERSION = "4.5.0"  # quotes and `quote` notifications exist from 4.5 (API version 7)
API_VERSION = 7
MIME = ["image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4", "audio/mpeg"]


def _domain(world: World) -> str:
    return world.base_url.split("://", 1)[1]


def _statuses() -> dict[str, int]:
    return {"max_characters": 500, "max_media_attachments": 4, "characters_reserved_per_url": 23}


def _polls() -> dict[str, int]:
    return {"max_options": 4, "max_characters_per_option": 50, "min_expiration": 300, "max_expiration": 2629746}


def instance_v2(world: World, streaming_url: str) -> dict[str, Any]:
    base = world.base_url
    return {
        "domain": _domain(world),
        "title": "Praatmee Pulse simulator",
        "version": VERSION,
        "source_url": "https://github.com/mastodon/mastodon",
        "description": "A simulated Mastodon server for tests and demos.",
        "usage": {"users": {"active_month": len(world.accounts)}},
        "thumbnail": {"url": f"{base}/packs/images/preview.png", "description": ""},
        "icon": [],
        "languages": ["nl", "en"],
        "configuration": {
            "urls": {
                "streaming": streaming_url,
                "status": None,
                "about": f"{base}/about",
                "privacy_policy": f"{base}/privacy-policy",
                "terms_of_service": None,
            },
            "vapid": {"public_key": ""},
            "accounts": {
                "max_display_name_length": 40, "max_note_length": 500,
                "max_avatar_description_length": 150, "max_header_description_length": 150,
                "max_featured_tags": 10, "max_pinned_statuses": 5, "max_profile_fields": 4,
                "profile_field_name_limit": 255, "profile_field_value_limit": 255,
            },
            "statuses": _statuses(),
            "media_attachments": {
                "description_limit": 10000, "image_matrix_limit": 33177600, "image_size_limit": 16777216,
                "supported_mime_types": MIME, "video_frame_rate_limit": 120,
                "video_matrix_limit": 8294400, "video_size_limit": 103809024,
            },
            "polls": _polls(),
            "translation": {"enabled": False},
            "timelines_access": {
                "live_feeds": {"local": "public", "remote": "public"},
                "hashtag_feeds": {"local": "public", "remote": "public"},
                "trending_link_feeds": {"local": "public", "remote": "public"},
            },
            "limited_federation": False,
        },
        "registrations": {
            "enabled": False, "approval_required": False, "reason_required": False,
            "message": None, "min_age": None, "url": None,
        },
        "api_versions": {"mastodon": API_VERSION},
        "wrapstodon": None,
        "contact": {"email": "", "account": None},
        "rules": [],
    }


def instance_v1(world: World, streaming_url: str) -> dict[str, Any]:
    return {
        "uri": _domain(world),
        "title": "Praatmee Pulse simulator",
        "short_description": "",
        "description": "A simulated Mastodon server for tests and demos.",
        "email": "",
        "version": VERSION,
        "urls": {"streaming_api": streaming_url},
        "stats": {
            "user_count": len(world.accounts),
            "status_count": sum(1 for s in world.statuses.values() if s.live),
            "domain_count": 1,
        },
        "thumbnail": f"{world.base_url}/packs/images/preview.png",
        "languages": ["nl", "en"],
        "registrations": False,
        "approval_required": False,
        "invites_enabled": False,
        "configuration": {
            "accounts": {"max_featured_tags": 10},
            "statuses": _statuses(),
            "media_attachments": {
                "supported_mime_types": MIME, "image_size_limit": 16777216, "image_matrix_limit": 33177600,
                "video_size_limit": 103809024, "video_frame_rate_limit": 120, "video_matrix_limit": 8294400,
            },
            "polls": _polls(),
        },
        "contact_account": None,
        "rules": [],
    }
