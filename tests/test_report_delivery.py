"""The weekly report by e-mail: sent on schedule to a real SMTP server on 127.0.0.1 (aiosmtpd, with
AUTH LOGIN/PLAIN), exactly once per period across restarts and between two instances, HTML body and PDF
attachment; a refused send leaves no record so the next check sends it."""

from __future__ import annotations

import asyncio
import email
import socket
import time as clock_time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr

from ingester.redact import Redactor
from ingester.report import period
from ingester.report.browser import BrowserError
from ingester.report.delivery import Deliverer, DeliverySettings, due_period
from ingester.report.mail import MailError, MailSettings
from ingester.runner import Service
from ingester.service import ServiceConfig
from ingester.settings import ChannelSettings, SettingsError, load_settings
from ingester.simulator import SimConfig, Simulator
from test_report import month_url  # noqa: F401  (fixture)

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")  # the stand-in
AMS = ZoneInfo("Europe/Amsterdam")
MONDAY_0900 = datetime(2026, 10, 26, 8, 0, 30, tzinfo=UTC)  # 09:00:30 CET, the Monday after W43
USER, PASSWORD = "pulse-mailer", "correct horse battery"


class Inbox:
    """aiosmtpd handler: keeps what the server accepted."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], EmailMessage, bool]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.original_content, policy=default_policy)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), msg, bool(session.authenticated)))
        return "250 Message accepted for delivery"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_required=True, auth_require_tls=False)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def settings(port: int, password: str = PASSWORD) -> DeliverySettings:
    return DeliverySettings(
        mail=MailSettings(host="127.0.0.1", port=port, user=USER, password=SecretStr(password), starttls=False,
                          sender="pulse@stad.example", recipients=("team@stad.example", "wethouder@stad.example")),
        every_seconds=0.05,
    )


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def until(condition: Callable[[], bool], timeout: float = 90.0) -> None:
    deadline = clock_time.monotonic() + timeout
    while not condition():
        assert clock_time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def deliveries(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return [(r[0], r[1].isoformat()) for r in conn.execute(
            "SELECT scope, period_start FROM pulse.report_deliveries ORDER BY period_start")]


async def test_the_schedule_sends_one_mail_per_period_across_a_restart(month_url: str, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    now = Clock(MONDAY_0900)
    first = asyncio.create_task(Deliverer(month_url, settings(port), clock=now).run())
    await until(lambda: len(inbox.received) == 1)
    await asyncio.sleep(0.5)  # several more checks in the same period
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)

    restarted = asyncio.create_task(Deliverer(month_url, settings(port), clock=now).run())
    await asyncio.sleep(0.5)
    assert len(inbox.received) == 1  # the restart found the record: not sent again
    now.now = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)  # the next Monday, 09:30 local
    await until(lambda: len(inbox.received) == 2)
    await asyncio.sleep(0.5)
    restarted.cancel()
    await asyncio.gather(restarted, return_exceptions=True)

    assert len(inbox.received) == 2
    assert deliveries(month_url) == [("*", "2026-10-19"), ("*", "2026-10-26")]
    mail_from, rcpt, msg, authenticated = inbox.received[0]
    assert authenticated and mail_from == "pulse@stad.example"
    assert rcpt == ["team@stad.example", "wethouder@stad.example"]
    assert "week 43" in msg["Subject"] and "week 44" in inbox.received[1][2]["Subject"]
    html = msg.get_body(("html",))
    assert html is not None and "Weekrapport week 43 (2026)" in html.get_content()
    pdfs = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1 and pdfs[0].get_filename() == "praatmee-pulse-2026-W43.pdf"
    assert pdfs[0].get_content().startswith(b"%PDF")


async def test_two_instances_at_the_same_moment_send_one_mail(month_url: str, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    a = Deliverer(month_url, settings(port), clock=Clock(MONDAY_0900))
    b = Deliverer(month_url, settings(port), clock=Clock(MONDAY_0900))
    sent = await asyncio.gather(asyncio.to_thread(a.deliver_due), asyncio.to_thread(b.deliver_due))
    assert sorted(str(s) for s in sent) == sorted([str(period.week("2026-W43")), "None"])
    assert len(inbox.received) == 1


async def test_a_refused_send_leaves_no_record_and_the_next_check_sends(month_url: str, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    with pytest.raises(MailError, match="refused the login") as refused:
        await asyncio.to_thread(Deliverer(month_url, settings(port, "wrong"), clock=Clock(MONDAY_0900)).deliver_due)
    assert "wrong" not in str(refused.value) and deliveries(month_url) == []
    sent = await asyncio.to_thread(Deliverer(month_url, settings(port), clock=Clock(MONDAY_0900)).deliver_due)
    assert sent == period.week("2026-W43") and len(inbox.received) == 1


async def test_without_a_browser_the_report_goes_out_as_html_only(month_url: str, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp

    def no_browser(html: str) -> bytes:
        raise BrowserError("chromium not found — install it (apt-get install chromium)")

    deliverer = Deliverer(month_url, settings(port), clock=Clock(MONDAY_0900), render_pdf=no_browser)
    assert await asyncio.to_thread(deliverer.deliver_due) == period.week("2026-W43")
    msg = inbox.received[0][2]
    assert list(msg.iter_attachments()) == []
    assert "Weekrapport week 43 (2026)" in msg.get_body(("html",)).get_content()


def test_the_due_report_is_the_week_before_the_latest_scheduled_moment() -> None:
    monday = datetime(2026, 10, 26, tzinfo=AMS)
    assert due_period(monday.replace(hour=8, minute=59), AMS, 0, time(9)) == period.week("2026-W42")
    assert due_period(monday.replace(hour=9), AMS, 0, time(9)) == period.week("2026-W43")
    assert due_period(datetime(2026, 10, 30, 12, tzinfo=AMS), AMS, 0, time(9)) == period.week("2026-W43")
    assert due_period(datetime(2026, 10, 28, 7, 30, tzinfo=AMS), AMS, 2, time(7, 30)) == period.week("2026-W43")


def test_mail_settings_come_together_or_not_at_all(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    base = {"database_url": "postgresql://x@127.0.0.1/x", "pulse_account_salt": "0123456789abcdef0"}
    assert load_settings(**base).report_delivery() is None
    with pytest.raises(SettingsError, match="PULSE_REPORT_TO: missing"):
        load_settings(**base, pulse_smtp_host="smtp.stad.example").report_delivery()
    with pytest.raises(SettingsError, match="PULSE_REPORT_TO") as bad:
        load_settings(**base, pulse_report_to="team@stad.example, not-an-address")
    assert "not-an-address" not in str(bad.value)
    s = load_settings(**base, pulse_smtp_host="smtp.stad.example", pulse_smtp_user="pulse@stad.example",
                      pulse_smtp_password="geheim", pulse_report_to="a@stad.example,b@stad.example",
                      pulse_report_day="fri", pulse_report_time="16:30", pulse_language="en").report_delivery()
    assert (s.weekday, s.at, s.language, s.mail.sender, s.mail.recipients, s.mail.port) == (
        4, time(16, 30), "en", "pulse@stad.example", ("a@stad.example", "b@stad.example"), 587)


def test_the_smtp_password_is_masked_in_logs_and_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings(database_url="postgresql://x@127.0.0.1/x", pulse_account_salt="0123456789abcdef0",
                      pulse_smtp_password="smtp-geheim-9876")
    assert "smtp-geheim-9876" not in Redactor.from_settings(s).scrub("login failed for smtp-geheim-9876")


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_the_service_mails_the_due_report_once_across_a_restart(
    database_url: str, salt: str, smtp: tuple[Inbox, int]
) -> None:
    """`ingester run`'s Service starts the deliverer; a second run of the service finds the record."""
    inbox, port = smtp
    async with Simulator(SimConfig(ping_interval=2.0)) as sim:
        cfg = ServiceConfig(
            dsn=database_url,
            channels=(ChannelSettings(name="main", base_url=sim.base_url, access_token=SecretStr(sim.token("main"))),),
            salt=SecretStr(salt), metrics_port=None, spool_dir=None,
        )
        for run in range(2):
            stop = asyncio.Event()
            service = asyncio.create_task(Service(cfg, report=settings(port)).run(stop))
            if run == 0:
                await until(lambda: len(inbox.received) == 1)
            await asyncio.sleep(1.5)  # many checks at 0.05 s
            stop.set()
            await asyncio.wait_for(service, 30)
    due = due_period(datetime.now(UTC), AMS, 0, time(9))
    assert len(inbox.received) == 1
    assert deliveries(database_url) == [("*", due.start.isoformat())]
    assert f"praatmee-pulse-{due.slug()}.pdf" in {p.get_filename() for p in inbox.received[0][2].iter_attachments()}
