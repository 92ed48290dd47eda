"""The weekly report by e-mail, on a schedule, once per period and scope — even across restarts and
with several instances of the service.

Every `every_seconds` the deliverer asks which report is due (the latest scheduled moment at or before
now, default Monday 09:00 local: the ISO week before it). If `pulse.report_deliveries` already has it,
nothing happens. Otherwise it renders the page and the PDF, then claims and sends in one transaction
(016_report_deliveries.sql says why that is atomic). A failed send rolls the claim back and is
retried at the next check. A fresh install sends the latest due report at its first check.

The clock is injected: tests move time instead of waiting for Monday.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg
import structlog

from ingester import i18n
from ingester.i18n import Language
from ingester.report import browser, figures, mail, page
from ingester.report.mail import MailSettings
from ingester.report.period import Period, week_before
from ingester.report.texts import TEXTS

log = structlog.get_logger("ingester.report")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL = "*"  # scope of a report over all channels


@dataclass(frozen=True)
class DeliverySettings:
    mail: MailSettings
    weekday: int = 0  # Monday
    at: time = time(9, 0)
    channel: str | None = None
    language: Language = "nl"
    every_seconds: float = 60.0


def due_period(now: datetime, tz: ZoneInfo, weekday: int, at: time) -> Period:
    """The report whose scheduled moment is the latest one at or before `now`."""
    today = now.astimezone(tz).date()
    day = today - timedelta(days=(today.weekday() - weekday) % 7)
    if datetime.combine(day, at, tz).astimezone(UTC) > now.astimezone(UTC):
        day -= timedelta(days=7)
    return week_before(day)


class Deliverer:
    def __init__(self, dsn: str, settings: DeliverySettings, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 render_pdf: Callable[[str], bytes] = browser.pdf) -> None:
        self.dsn, self.s, self.clock, self.render_pdf = dsn, settings, clock, render_pdf
        self.scope = settings.channel or ALL

    def _sent(self, conn: psycopg.Connection, p: Period) -> bool:
        return conn.execute(
            "SELECT 1 FROM pulse.report_deliveries WHERE scope = %s AND period_start = %s AND period_end = %s",
            (self.scope, p.start, p.end),
        ).fetchone() is not None

    def deliver_due(self) -> Period | None:
        """Send the due report unless it went out already; returns the period sent (blocking: run in a thread)."""
        now, lang = self.clock(), self.s.language
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            tz = ZoneInfo(conn.execute("SELECT pulse.timezone()").fetchone()[0])  # type: ignore[index]
            p = due_period(now, tz, self.s.weekday, self.s.at)
            if self._sent(conn, p):
                return None
            figs = figures.load(conn, p, self.s.channel)
        html = page.render(figs, lang, now)
        try:
            pdf: bytes | None = self.render_pdf(html)  # before the claim: the transaction holds only SMTP
        except browser.BrowserError as exc:
            # a report without its attachment beats no report: the HTML body carries every figure
            log.warning("weekly report goes out without its PDF", error=str(exc))
            pdf = None
        first, last = i18n.day(p.start, lang), i18n.day(p.last_day, lang)
        cur = figs.current
        msg = mail.compose(
            self.s.mail,
            TEXTS.text(lang, "mail_subject", title=page.title(figs, lang), first=first, last=last),
            TEXTS.text(lang, "mail_text", first=first, last=last,
                       rpp=i18n.ratio(cur["replies_per_post"], lang, 1),
                       accounts=i18n.number(cur["distinct_accounts"], lang),
                       answered=i18n.percent(cur["answered_share"], lang)),
            html, pdf, f"praatmee-pulse-{p.slug()}.pdf", now,
        )
        with psycopg.connect(self.dsn) as conn:  # one transaction: claim, send, commit
            conn.execute("SET LOCAL lock_timeout = '15s'")  # another instance is sending it right now
            claimed = conn.execute(
                """INSERT INTO pulse.report_deliveries (scope, period_start, period_end, recipients, message_id)
                   VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1""",
                (self.scope, p.start, p.end, len(self.s.mail.recipients), msg["Message-ID"]),
            ).fetchone()
            if claimed is None:
                return None
            mail.send(msg, self.s.mail)  # raises: the claim rolls back and the next check retries
        log.info("weekly report sent", period=p.slug(), scope=self.scope, recipients=len(self.s.mail.recipients))
        return p

    async def run(self, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """Check, send when due, wait; until cancelled. Failures are logged and retried, never fatal."""
        while True:
            try:
                await asyncio.to_thread(self.deliver_due)
            except psycopg.errors.LockNotAvailable:
                pass  # another instance holds the claim and is sending
            except mail.MailError as exc:
                log.warning("weekly report not sent; retrying at the next check", error=str(exc))
            except (psycopg.Error, OSError) as exc:
                log.warning("weekly report not sent: database unavailable", error=type(exc).__name__)
            except Exception:  # noqa: BLE001 - the report must never stop ingestion
                log.exception("weekly report failed")
            await sleep(self.s.every_seconds)
