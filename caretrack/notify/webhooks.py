"""Group robots of WeCom (企业微信) and DingTalk (钉钉): their message format, URL checks, and one POST.

A robot's URL carries its secret token (`key=` for WeCom, `access_token=` for DingTalk): it is never logged
and shown only masked.
"""

import base64
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import current_app, has_app_context
from flask_babel import gettext as _

from caretrack.notify.models import WebhookKind

log = logging.getLogger(__name__)

# Robots may be set to accept only messages holding a keyword; officers set this one (see the settings page).
KEYWORD = "学生资助"


def build_payload(kind: WebhookKind, text: str) -> dict:
    """The JSON a robot of that kind accepts for a plain text message."""
    content = f"【{KEYWORD}】{text}"
    if kind in (WebhookKind.WECOM, WebhookKind.DINGTALK):
        # Both robots take the same shape for text: {"msgtype": "text", "text": {"content": ...}}.
        return {"msgtype": "text", "text": {"content": content}}
    raise ValueError(f"unknown webhook kind {kind!r}")


# The hosts of each kind's robots. A robot URL holds a secret and every notice we send: any other host could be
# anyone's server, so it takes the city admin's decision (CARETRACK_WEBHOOK_HOSTS) to add one.
ROBOT_HOSTS = {WebhookKind.WECOM: ("qyapi.weixin.qq.com",), WebhookKind.DINGTALK: ("oapi.dingtalk.com",)}


def allowed_hosts(kind: WebhookKind | None) -> set[str]:
    """The robot hosts of the kind (of every kind when None), with those the city admin added."""
    hosts = set(ROBOT_HOSTS.get(kind, ())) if kind else {host for known in ROBOT_HOSTS.values() for host in known}
    if has_app_context():
        hosts.update(host.lower() for host in current_app.config.get("WEBHOOK_EXTRA_HOSTS", ()))
    return hosts


def url_problem(url: str, kind: WebhookKind | None = None) -> str | None:
    """Why the URL cannot be a robot's webhook (of that kind), in the user's language; None when it can."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return _("地址格式不正确。")
    if parts.scheme != "https":
        return _("地址须以 https:// 开头：群机器人的密钥在地址里，不能明文传输。")
    if not parts.hostname:
        return _("地址缺少主机名。")
    if any(char.isspace() for char in url):
        return _("地址中不能有空格。")
    if parts.hostname.lower() not in allowed_hosts(kind):
        return _("只能使用企业微信（qyapi.weixin.qq.com）或钉钉（oapi.dingtalk.com）群机器人的地址；"
                 "其他地址须由市级管理员加入允许列表。")
    return None


def mask_url(url: str) -> str:
    """The URL with the values of its query (the robot's token) hidden but for their last 4 characters."""
    parts = urlsplit(url)
    query = "&".join(f"{name}=…{value[-4:] if len(value) > 8 else ''}" for name, value in parse_qsl(parts.query))
    return urlunsplit(parts._replace(query=query))


@dataclass(frozen=True)
class PostResult:
    """What one POST came to: sent, or an error and whether trying again later may help."""

    ok: bool
    retryable: bool = False
    error: str | None = None
    # The robot took the request but did not answer in time: it may have posted the message. Never repeated blindly.
    uncertain: bool = False


def signed_url(url: str, now_ms: int | None = None) -> str:
    """A DingTalk robot with 加签 (a secret `SEC…`, given as `&secret=` on the configured URL): the URL to post to.

    DingTalk's rule: sign = base64(HMAC-SHA256(secret, timestamp + newline + secret)), sent with the millisecond
    timestamp; the secret itself is taken off the URL and never sent.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    secret = next((value for name, value in query if name == "secret"), None)
    if not secret:
        return url
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    query = [(name, value) for name, value in query if name != "secret"]
    query += [("timestamp", timestamp), ("sign", base64.b64encode(digest).decode())]
    return urlunsplit(parts._replace(query=urlencode(query)))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A robot never redirects; following one would let a configured URL send our POST anywhere.
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(url: str, payload: dict, timeout: float) -> PostResult:
    """POST the payload as JSON; a 2xx with errcode 0 (or none) is success. Never raises for network faults."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    request = urllib.request.Request(signed_url(url), data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with _opener.open(request, timeout=timeout) as response:
            return _result_of_body(response.read(65536))
    except urllib.error.HTTPError as error:
        # Server faults and rate limits pass; a 4xx means the URL or message is wrong and will stay wrong.
        return PostResult(False, error.code >= 500 or error.code == 429, f"HTTP {error.code}")
    except ValueError:  # not a URL urllib can open: checked when added, so only a row edited by hand
        return PostResult(False, False, "invalid URL")
    except TimeoutError as error:
        # Connected and sent, then no answer in time (a timeout while connecting arrives as a URLError): the robot
        # may well have posted it; a blind retry is how a hanging robot got every message six times.
        return PostResult(False, False, f"timed out waiting for the answer: {error}"[:200], uncertain=True)
    except (urllib.error.URLError, OSError, HTTPException) as error:
        reason = getattr(error, "reason", None) or error
        return PostResult(False, True, f"{type(error).__name__}: {reason}"[:200])


def _result_of_body(body: bytes) -> PostResult:
    """Robots answer 200 with {"errcode": 0, ...}; a non-zero errcode (a bad token, too fast) is a failure."""
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        return PostResult(True)  # a 2xx without JSON: not a robot we know, but the server took it
    errcode = answer.get("errcode", 0) if isinstance(answer, dict) else 0
    if errcode in (0, "0"):
        return PostResult(True)
    return PostResult(False, True, f"errcode {errcode}: {str(answer.get('errmsg', ''))[:150]}")
