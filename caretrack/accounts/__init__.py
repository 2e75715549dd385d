"""Accounts: login, passwords, users and their roles."""

from flask import Blueprint

from caretrack.core.access import Permission
from caretrack.core.choices import N_
from caretrack.core.web import register_nav

bp = Blueprint("accounts", __name__)

# This domain's pages in the main menu (core/web.py register_nav).
register_nav(N_("管理"), N_("用户与角色"), "accounts.list_users", Permission.USERS_MANAGE, order=20)

from caretrack.accounts import audit_names, views  # noqa: E402,F401 - register the routes and the log's names
from caretrack.accounts.queries import user_by_calendar_token  # noqa: E402
from caretrack.notify.calendar import register_feed_owner  # noqa: E402

register_feed_owner(user_by_calendar_token)  # whose phone calendar a feed's secret token opens
