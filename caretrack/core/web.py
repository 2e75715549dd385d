"""The web shell: error pages, template helpers and the navigation each role sees."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup, escape
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from caretrack.core import access, outage
from caretrack.core.access import Permission
from caretrack.core.choices import N_
from caretrack.core.models import is_lost_race, stale_message
from caretrack.extensions import db

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

    @app.errorhandler(StaleDataError)
    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(DisconnectionError)
    def lost_race(error):
        # Someone saved the same record between this request's read and its write: as a stale form, not a 500.
        if outage.is_database_unavailable(error):
            return outage.unavailable_page(error)
        if not is_lost_race(error):
            return server_error(error)
        db.session.rollback()
        return _error_page(409, _("已被他人修改"), stale_message())

    @app.errorhandler(413)
    def too_large(_error):
        return _error_page(413, _("文件过大"), _("上传的文件超过了允许的大小。"))

    @app.errorhandler(500)
    def server_error(_error):
        log.exception("unhandled error on %s", request.endpoint)
        db.session.rollback()  # the page itself reads (the navigation): not from a failed transaction
        try:
            return _error_page(500, _("系统出错了"), _("服务器处理请求时出错，已记录。请稍后再试。"))
        except outage.UNAVAILABLE_ERRORS as error:  # the navigation could not be read either
            return outage.unavailable_page(error)


# The main menu's groups, in the order the bar shows them. A group shows as a dropdown named by its message id, or
# as a plain link when the user may open only one of its pages; grouped, every role's bar fits a 1024 px window in
# both languages. The shell names the groups only: each domain registers its own pages into them (register_nav).
MENU_GROUPS = (N_("我的工作"), N_("学生"), N_("关怀"), N_("资助"), N_("管理"))


@dataclass(frozen=True)
class NavEntry:
    """One page of the main menu: where it sits, what it says, who sees it."""

    group: str
    label: str
    endpoint: str
    visible: Permission | Callable[[object], bool] | None
    order: int

    def shown_to(self, user) -> bool:
        if self.visible is None:
            return True
        if isinstance(self.visible, Permission):
            return access.has_permission(user, self.visible)
        return bool(self.visible(user))


_NAV_ENTRIES: dict[str, NavEntry] = {}


def register_nav(group: str, label: str, endpoint: str,
                 visible: Permission | Callable[[object], bool] | None = None, order: int = 100) -> None:
    """Put a page into the main menu.

    A domain calls this from its package's `__init__.py`, next to its blueprint, once per page it lists:

        from caretrack.core.choices import N_
        from caretrack.core.access import Permission
        from caretrack.core.web import register_nav

        register_nav(N_("关怀"), N_("值班"), "duties.list_duties", Permission.DUTIES_VIEW, order=50)

    `group` is one of MENU_GROUPS (a group not listed there comes after them, in the order first registered);
    `label` is the page's message id (its English goes into messages.po); `visible` is the permission a user
    needs, a predicate taking the user, or None for every logged-in user; `order` places the page within its
    group (lower first; today's pages use 10, 20, 30...). Registering an endpoint again replaces its entry.
    """
    _NAV_ENTRIES[endpoint] = NavEntry(group, label, endpoint, visible, order)
    _MENUS.clear()


def _menu() -> list[tuple[str, list[NavEntry]]]:
    """The registered entries as (group, entries) in the bar's order."""
    groups = list(MENU_GROUPS)
    groups += list(dict.fromkeys(e.group for e in _NAV_ENTRIES.values() if e.group not in MENU_GROUPS))
    entries = sorted(_NAV_ENTRIES.values(), key=lambda e: e.order)
    return [(group, [e for e in entries if e.group == group]) for group in groups]


def navigation_for(user) -> list[tuple[str, list[tuple[str, str]]]]:
    """The menu groups the user's roles may open, each as (label, [(endpoint, label), ...]); empty groups left out."""
    if not user.is_authenticated:
        return []
    groups = []
    for title, entries in _menu():
        allowed = [(entry.endpoint, _(entry.label)) for entry in entries if entry.shown_to(user)]
        if allowed:
            groups.append((_(title), allowed))
    return groups


@dataclass(frozen=True)
class MenuLink:
    href: str
    label: str
    active: bool  # the page shown is this one or one under it (/users/5 under /users)


@dataclass(frozen=True)
class MenuGroup:
    title: str
    links: list[MenuLink]

    @property
    def active(self) -> bool:
        return any(link.active for link in self.links)


# (language, script root, roles) -> the menu as (title, [(href, label), ...]): every page shows it, and what it
# lists follows from the roles alone while every entry is shown by a permission (a predicate is asked afresh).
_MENUS: dict[tuple, list[tuple[str, list[tuple[str, str]]]]] = {}
_MENUS_KEPT = 256


def _menu_links(user) -> list[tuple[str, list[tuple[str, str]]]]:
    """navigation_for with each endpoint's URL, kept per language, script root and roles (see _MENUS)."""
    def build():
        return [(title, [(url_for(endpoint), label) for endpoint, label in items])
                for title, items in navigation_for(user)]

    if any(not (entry.visible is None or isinstance(entry.visible, Permission)) for entry in _NAV_ENTRIES.values()):
        return build()
    key = (str(get_locale()), request.script_root, frozenset(access.roles_of(user)))
    links = _MENUS.get(key)
    if links is None:
        if len(_MENUS) >= _MENUS_KEPT:
            _MENUS.clear()
        links = _MENUS[key] = build()
    return links


def _is_under(path: str, href: str) -> bool:
    base = href.rstrip("/")
    return path == href or bool(base) and (path == base or path.startswith(base + "/"))


def navigation_menu(user) -> list[MenuGroup]:
    """The menu bar of the page: navigation_for's groups with their links and which of them is the page shown."""
    if not user.is_authenticated:
        return []
    path = request.path
    return [MenuGroup(title, [MenuLink(href, label, _is_under(path, href)) for href, label in links])
            for title, links in _menu_links(user)]


def option_tags(options, selected) -> Markup:
    """The <option> tags of a select, `selected` preselected, as a template's loop would write them.

    In Python, not a Jinja loop, and each list written once while it stays the same: a university's class filter
    lists nine hundred options on every view of the list, and only the preselected one differs between views.
    """
    html = _options_html(tuple(options))
    chosen = f'<option value="{escape(selected)}">'
    return Markup(html.replace(chosen, f'<option value="{escape(selected)}" selected>', 1))


@lru_cache(maxsize=32)
def _options_html(options: tuple) -> str:
    """The options (value, label) as tags, none selected. Remembered by content, so never out of date: another
    language, school or class name is another list.
    """
    return "".join(f'<option value="{escape(value)}">{escape(label)}</option>' for value, label in options)


def init_app(app: Flask) -> None:
    """Register error pages, the site icon and what every template may use."""
    _register_error_handlers(app)
    app.jinja_env.filters["option_tags"] = option_tags

    # Browsers ask for /favicon.ico whatever the page links; answer from the static folder, not with a 404.
    @app.route("/favicon.ico")
    def favicon():
        return app.send_static_file("favicon.ico")

    @app.context_processor
    def shell_context():
        user = current_user._get_current_object()
        return {
            "navigation": navigation_menu(user),
            "can": lambda permission, obj=None: access.can(user, permission, obj),
            "Permission": Permission,
        }
