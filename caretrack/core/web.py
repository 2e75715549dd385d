"""The web shell: error pages, template helpers and the navigation each role sees."""

import logging
from urllib.parse import urlsplit

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from caretrack.core import access
from caretrack.core.access import Permission
from caretrack.core.choices import N_

log = logging.getLogger(__name__)


def local_target(target: str | None, fallback: str) -> str:
    """`target` when it is a path on this site, else `fallback`.

    Browsers read a backslash as a slash and drop tabs and newlines inside a URL, so a backslash or a control
    character would let "/" + "/evil.example" through as surely as "//evil.example".
    """
    if not target or not target.startswith("/") or "\\" in target or any(ord(char) < 32 for char in target):
        return fallback
    parts = urlsplit(target)
    return fallback if parts.scheme or parts.netloc or target.startswith("//") else target


def _error_page(status: int, title: str, message: str):
    return render_template("errors/error.html", status=status, title=title, message=message), status


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(400)
    def bad_request(_error):
        return _error_page(400, _("请求有误"), _("提交的内容无法处理，请返回重试。"))

    @app.errorhandler(CSRFError)
    def csrf_error(_error):
        return _error_page(400, _("页面已过期"), _("表单安全令牌缺失或已过期，请刷新页面后重新提交。"))

    @app.errorhandler(403)
    def forbidden(_error):
        return _error_page(403, _("无权操作"), _("您的角色没有执行此操作的权限。如需开通，请联系本单位资助中心。"))

    @app.errorhandler(404)
    def not_found(_error):
        return _error_page(404, _("页面不存在"), _("您访问的页面不存在，或不在您的工作范围内。"))

    @app.errorhandler(413)
    def too_large(_error):
        return _error_page(413, _("文件过大"), _("上传的文件超过了允许的大小。"))

    @app.errorhandler(500)
    def server_error(_error):
        log.exception("unhandled error on %s", request.endpoint)
        return _error_page(500, _("系统出错了"), _("服务器处理请求时出错，已记录。请稍后再试。"))


NAVIGATION = [
    # (endpoint, message id of the label, permission needed or None for every logged-in user)
    ("dashboard.home", N_("我的工作"), None),
    ("students.list_students", N_("学生"), Permission.STUDENTS_VIEW),
    ("followups.list_followups", N_("跟进"), Permission.CARE_RECORD),
    ("ledger.my_caseload", N_("关怀台账"), Permission.CARE_RECORD),
    ("ledger.list_disbursements", N_("资助发放"), Permission.DISBURSE),
    ("screening.list_units", N_("排查"), Permission.SCREENING_VIEW),
    ("summaries.list_batches", N_("学期小结"), Permission.SUMMARIES_VIEW),
    ("caseloads.list_caseloads", N_("名单"), Permission.CASELOADS_MANAGE),
    ("activities.list_clubs", N_("自强社"), Permission.CLUBS_VIEW),
    ("org.list_units", N_("单位"), Permission.ORG_VIEW),
    ("accounts.list_users", N_("用户与角色"), Permission.USERS_MANAGE),
    ("audit.list_events", N_("审计日志"), Permission.AUDIT_VIEW),
]


def navigation_for(user) -> list[tuple[str, str]]:
    """The (endpoint, label) pairs the user's roles may open."""
    if not user.is_authenticated:
        return []
    return [(endpoint, _(label)) for endpoint, label, permission in NAVIGATION
            if permission is None or access.has_permission(user, permission)]


def init_app(app: Flask) -> None:
    """Register error pages and what every template may use."""
    _register_error_handlers(app)

    @app.context_processor
    def shell_context():
        return {
            "navigation": navigation_for(current_user),
            "can": lambda permission, obj=None: access.can(current_user, permission, obj),
            "Permission": Permission,
        }
