"""SMTP transport for the outbox (aiosmtplib), configured by ``CRM_SMTP_URL``."""

from __future__ import annotations

from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

from crm.notify.service import Sender
from crm.settings import Settings

TIMEOUT_SECONDS = 20


def smtp_sender(settings: Settings) -> Sender:
    """A sender for ``smtp://user:pass@host:587`` (STARTTLS when offered) or ``smtps://`` (implicit TLS)."""
    assert settings.smtp_url, "smtp_sender needs CRM_SMTP_URL"
    url = urlsplit(settings.smtp_url)
    implicit_tls = url.scheme == "smtps"
    port = url.port or (465 if implicit_tls else 587)
    username = unquote(url.username) if url.username else None
    password = unquote(url.password) if url.password else None

    async def send(to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = settings.mail_from
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        await aiosmtplib.send(message, hostname=url.hostname or "localhost", port=port, username=username,
                              password=password, use_tls=implicit_tls, timeout=TIMEOUT_SECONDS)

    return send
