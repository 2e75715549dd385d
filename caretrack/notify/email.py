"""The daily digest email: one message per person listing their new notifications, sent over SMTP.

Emails are Chinese (issue 5: "Email and webhook bodies are Chinese templates"); a job has no request and so
no user's language to choose.
"""

import hashlib
import smtplib
import ssl
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr

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
    message["Message-ID"] = digest_message_id(user.id, [n.id for n in notifications])
    message["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to a robot
    message.set_content(_render("emails/digest.txt", context))
    message.add_alternative(_render("emails/digest.html", context), subtype="html")
    return message


def digest_message_id(user_id: int, notification_ids: list[int]) -> str:
    """The same digest (one person, the same notifications) always has the same Message-ID."""
    domain = parseaddr(current_app.config["MAIL_FROM"])[1].rpartition("@")[2] or "caretrack.localhost"
    digest = hashlib.sha256(",".join(map(str, sorted(notification_ids))).encode()).hexdigest()[:20]
    return f"<digest.{user_id}.{digest}@{domain}>"


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
    if config.get("SMTP_USE_SSL"):  # implicit TLS from the first byte (port 465), as many school mail hosts ask
        connection = smtplib.SMTP_SSL(config["SMTP_HOST"], config["SMTP_PORT"], timeout=SMTP_TIMEOUT_SECONDS,
                                      context=ssl_context())
    else:
        connection = smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=SMTP_TIMEOUT_SECONDS)
    with connection as smtp:
        if config.get("SMTP_USE_TLS") and not config.get("SMTP_USE_SSL"):
            smtp.starttls(context=ssl_context())
        if config.get("SMTP_USERNAME"):
            smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
        yield smtp


def ssl_context() -> ssl.SSLContext:
    """Verified TLS; CARETRACK_SMTP_CA_FILE names the CA of a school's own mail server (or a test's)."""
    return ssl.create_default_context(cafile=current_app.config.get("SMTP_CA_FILE") or None)
