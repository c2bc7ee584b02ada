"""E-mail through an SMTP server: one plain-text mail per message.

The robots' markdown colour tags are taken out; SMTP 4xx answers are worth a retry,
5xx ones are not. Errors name the server, never the password.
"""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage

from yd_platform.outbox.errors import DeliveryError

MARKUP_TAG = re.compile(r"</?font[^>]*>")


def plain_text(body: str) -> str:
    """The markdown body without the robots' colour tags, for a plain-text e-mail."""
    return MARKUP_TAG.sub("", body)


def send_email(smtp, recipients: list[str], title: str, body: str, timeout: float = 20.0) -> None:
    """Send one mail through `smtp` (host, port, user, password, sender, starttls)."""
    msg = EmailMessage()
    msg["Subject"] = title
    msg["From"] = smtp.sender
    msg["To"] = ", ".join(recipients)
    msg.set_content(plain_text(body))
    where = f"SMTP {smtp.host}:{smtp.port}"
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout) as server:
            if smtp.starttls:
                server.starttls()
            if smtp.user:
                server.login(smtp.user, smtp.password)
            server.send_message(msg)
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"{where} answered {exc.smtp_code}", retryable=400 <= exc.smtp_code < 500) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"{where} failed: {exc.__class__.__name__}", retryable=True) from None
