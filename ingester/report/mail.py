"""The report as an e-mail (HTML body, PDF attachment) and its delivery over SMTP.

Plain `smtplib` from the standard library: STARTTLS on the submission port by default, implicit TLS on
port 465, login when a user is set. Errors become `MailError` with one line that never holds the
password."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from pydantic import SecretStr

TIMEOUT = 30.0


class MailError(RuntimeError):
    """The SMTP server could not be reached or refused the message; `str()` is one line."""


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    user: str | None
    password: SecretStr | None
    starttls: bool
    sender: str
    recipients: tuple[str, ...]


def compose(s: MailSettings, subject: str, text: str, html: str, pdf: bytes | None, filename: str,
            now: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = s.sender
    msg["To"] = ", ".join(s.recipients)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid("pulse-report", domain=s.sender.rpartition("@")[2] or None)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    if pdf is not None:
        msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    return msg


def send(msg: EmailMessage, s: MailSettings) -> None:
    context = ssl.create_default_context()
    try:
        if s.port == 465:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=TIMEOUT, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=TIMEOUT)
        with smtp:
            if s.starttls and s.port != 465:
                smtp.starttls(context=context)
            if s.user:
                smtp.login(s.user, s.password.get_secret_value() if s.password else "")
            smtp.send_message(msg, from_addr=s.sender, to_addrs=list(s.recipients))
    except smtplib.SMTPAuthenticationError:
        raise MailError(f"SMTP server {s.host}:{s.port} refused the login of PULSE_SMTP_USER") from None
    except smtplib.SMTPException as exc:
        raise MailError(f"SMTP server {s.host}:{s.port} refused the report ({type(exc).__name__})") from None
    except OSError as exc:
        raise MailError(f"SMTP server {s.host}:{s.port} unreachable ({exc.strerror or type(exc).__name__})") from None
