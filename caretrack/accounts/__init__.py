"""Accounts: login, passwords, users and their roles."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)

from caretrack.accounts import views  # noqa: E402,F401 - registers the routes on bp
