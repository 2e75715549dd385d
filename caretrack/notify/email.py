"""The daily digest email: one message per person listing their new notifications, sent over SMTP.

Emails are Chinese (issue 5: "Email and webhook bodies are Chinese templates"); a job has no request and so
no user's language to choose.
"""

import smtplib
import ssl
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr

from flask import current_app

# The digest lists this many; the rest are counted and wait in the inbox.
DIGEST_MAX_ITEMS = 30
SMTP_TIMEOUT_SECONDS = 30
SUBJECT = "【学生资助】您有 {n} 条待办提醒"


def email_enabled() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


def digest_message(user, notifications: list) -> EmailMessage:
    """The digest of `notifications` for `user`, as plain text with an HTML alternative."""
    config = current_app.config
    shown = notifications[:DIGEST_MAX_ITEMS]
    context = {"user": user, "notifications": shown, "more": len(notifications) - len(shown),
               "total": len(notifications), "base_url": config.get("BASE_URL") or ""}
    message = EmailMessage()
    message["Subject"] = SUBJECT.format(n=len(notifications))
    message["From"] = config["MAIL_FROM"]
    message["To"] = formataddr((user.display_name, user.email))
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=parseaddr(config["MAIL_FROM"])[1].rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to a robot
    message.set_content(_render("emails/digest.txt", context))
    message.add_alternative(_render("emails/digest.html", context), subtype="html")
    return message


def _render(name: str, context: dict) -> str:
    # Straight from the Jinja environment: the web's context processors need a request and a logged-in user.
    return current_app.jinja_env.get_template(name).render(html_lang=_html_lang(), **context)


def _html_lang() -> str:
    from caretrack.core.i18n import is_chinese

    return "zh-CN" if is_chinese() else "en"


@contextmanager
def smtp_connection():
    """An open, logged-in SMTP connection to the configured server; OSError or SMTPException when it is down."""
    config = current_app.config
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        if config.get("SMTP_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USERNAME"):
            smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
        yield smtp
