"""Upload the datasource, the folder, the dashboards and the alert rules to a running Grafana.

For cities that already run Grafana. Idempotent: every object has a fixed uid, so each step looks
it up and updates it, or creates it when the lookup answers 404. The notification policy tree is
never replaced (it is the city's); with `contact` set, a contact point is created or updated and
the rules route to it directly (`notification_settings`), otherwise they carry the label
`team=pulse` for the city's own policies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

from ingester.grafana import FOLDER_TITLE, FOLDER_UID, alerts, datasource
from ingester.grafana.build import dashboards
from ingester.i18n import DEFAULT_LANGUAGE, Catalog, Language

# What `ingester grafana push` prints per object; the object names (kind and uid) are identifiers.
TEXTS = Catalog({
    "nl": {"created": "{what} aangemaakt", "updated": "{what} bijgewerkt"},
    "en": {"created": "created {what}", "updated": "updated {what}"},
})


class PushError(Exception):
    """Grafana refused a step; `str()` is one line naming the step (never a credential)."""


@dataclass(frozen=True)
class Contact:
    kind: str  # 'email' | 'webhook'
    target: str  # addresses, or the webhook URL

    def settings(self) -> dict[str, Any]:
        if self.kind == "email":
            return {"addresses": self.target, "singleEmail": True}
        return {"url": self.target, "httpMethod": "POST"}


@dataclass
class Report:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)

    def lines(self, lang: Language = DEFAULT_LANGUAGE) -> list[str]:
        return ([TEXTS.text(lang, "created", what=x) for x in self.created]
                + [TEXTS.text(lang, "updated", what=x) for x in self.updated])


def _missing(call: Callable[[], Any]) -> Any | None:
    try:
        return call()
    except GrafanaClientError as exc:
        if exc.status_code == 404:
            return None
        raise


def push(
    api: GrafanaApi,
    conn: datasource.Connection,
    *,
    engagement_share: float = alerts.DEFAULT_ENGAGEMENT_SHARE,
    contact: Contact | None = None,
    language: Language = DEFAULT_LANGUAGE,
) -> Report:
    """Boards and alert rules go up in `language`; their uids are the same in every language, so
    pushing the other language later replaces them in place."""
    report = Report()
    step = "connect"
    try:
        step = "datasource"
        body = datasource.api_payload(conn)
        if _missing(lambda: api.datasource.get_datasource_by_uid(body["uid"])) is None:
            api.datasource.create_datasource(body)
            report.created.append(f"datasource {body['uid']}")
        else:
            api.datasource.update_datasource_by_uid(body["uid"], body)
            report.updated.append(f"datasource {body['uid']}")

        step = "folder"
        if _missing(lambda: api.folder.get_folder(FOLDER_UID)) is None:
            api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
            report.created.append(f"folder {FOLDER_UID}")
        else:
            api.folder.update_folder(FOLDER_UID, title=FOLDER_TITLE, overwrite=True)
            report.updated.append(f"folder {FOLDER_UID}")

        for board in dashboards(language):
            step = f"dashboard {board.uid}"
            existed = _missing(lambda b=board: api.dashboard.get_dashboard(b.uid)) is not None
            doc = {**board.to_json(), "id": None}
            api.dashboard.update_dashboard({"dashboard": doc, "folderUid": FOLDER_UID, "overwrite": True,
                                            "message": "ingester grafana push"})
            (report.updated if existed else report.created).append(f"dashboard {board.uid}")

        receiver = None
        if contact is not None:
            step = "contact point"
            receiver = "pulse"
            cp = {"uid": "pulse-contact", "name": receiver, "type": contact.kind,
                  "settings": contact.settings(), "disableResolveMessage": False}
            existing = api.alertingprovisioning.get_contactpoints(name=receiver)
            if any(c.get("uid") == cp["uid"] for c in existing or []):
                api.alertingprovisioning.update_contactpoint(cp["uid"], cp)
                report.updated.append("contact point pulse")
            else:
                api.alertingprovisioning.create_contactpoint(cp)
                report.created.append("contact point pulse")

        rules = alerts.rules(engagement_share, language)
        for rule in rules:
            step = f"alert rule {rule.uid}"
            body = _api_rule(rule, receiver)
            if _missing(lambda r=rule: api.alertingprovisioning.get_alertrule(r.uid)) is None:
                api.alertingprovisioning.create_alertrule(body)
                report.created.append(f"alert rule {rule.uid}")
            else:
                api.alertingprovisioning.update_alertrule(rule.uid, body)
                report.updated.append(f"alert rule {rule.uid}")

        step = "rule group"
        api.alertingprovisioning.update_rule_group(FOLDER_UID, alerts.GROUP, {
            "title": alerts.GROUP, "folderUid": FOLDER_UID, "interval": 60,
            "rules": [_api_rule(r, receiver) for r in rules]})
    except GrafanaException as exc:
        raise PushError(f"{step}: Grafana answered {exc.status_code}: {_message(exc)}") from None
    except OSError as exc:  # connection refused, DNS, TLS
        raise PushError(f"{step}: cannot reach Grafana ({type(exc).__name__})") from None
    return report


def _message(exc: GrafanaException) -> str:
    text = str(getattr(exc, "message", "") or exc).strip().splitlines()
    return text[0][:200] if text else "no message"


def _api_rule(rule: alerts.Rule, receiver: str | None) -> dict[str, Any]:
    """The provisioning file's rule in the HTTP API's shape (camelCase keys, folderUID, ruleGroup)."""
    src = rule.to_provisioning()
    body: dict[str, Any] = {
        "uid": src["uid"],
        "title": src["title"],
        "condition": src["condition"],
        "data": src["data"],
        "noDataState": src["noDataState"],
        "execErrState": src["execErrState"],
        "for": src["for"],
        "annotations": src["annotations"],
        "labels": src["labels"],
        "isPaused": src["isPaused"],
        "folderUID": FOLDER_UID,
        "ruleGroup": alerts.GROUP,
        "orgID": 1,
    }
    if receiver is not None:
        body["notification_settings"] = {"receiver": receiver, "group_by": ["alertname", "channel"]}
    return body
