"""Outgoing mail through SMTP (`SMTP_*` settings); `NotConfigured` when no SMTP host is set."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from backend.config import get_settings
from backend.errors import BadRequest, NotConfigured, ServiceUnavailable

log = logging.getLogger(__name__)


def is_configured() -> bool:
    return bool(get_settings().smtp_host)


def send_mail(to: str, subject: str, body: str, from_name: str | None = None) -> None:
    settings = get_settings()
    if not settings.smtp_host:
        raise NotConfigured("Email is not configured on this server (set SMTP_HOST and the other SMTP_* settings)")
    if not isinstance(to, str) or "@" not in to or len(to) > 320 or "\n" in to or "\r" in to:
        raise BadRequest("`to` must be one email address")
    message = EmailMessage()
    sender = settings.smtp_from or settings.smtp_username
    message["From"] = f"{from_name} <{sender}>" if from_name else sender
    message["To"] = to
    message["Subject"] = subject.replace("\n", " ")[:300]
    message.set_content(body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("sending mail failed: %s", exc)
        raise ServiceUnavailable("The mail server did not accept the message; try again later") from None
