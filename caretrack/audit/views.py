"""The audit log viewer: filter by action, person, object and date."""

from datetime import datetime, time, timedelta

from flask import render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from caretrack.audit import bp
from caretrack.audit.describe import describe
from caretrack.audit.models import AuditEvent
from caretrack.audit.services import ACTION_LABELS
from caretrack.core.access import Permission, permission_required, scoped
from caretrack.core.pagination import paginate
from caretrack.core.timeutil import local_zone


def _parse_day(raw: str | None):
    try:
        return datetime.strptime(raw, "%Y-%m-%d").date() if raw else None
    except ValueError:
        return None


@bp.route("/")
@login_required
@permission_required(Permission.AUDIT_VIEW)
def list_events():
    args = request.args
    statement = scoped(select(AuditEvent), current_user, Permission.AUDIT_VIEW).order_by(AuditEvent.id.desc())
    if args.get("action"):
        statement = statement.where(AuditEvent.action == args["action"])
    if args.get("username"):
        statement = statement.where(AuditEvent.username == args["username"].strip())
    if args.get("object_type"):
        statement = statement.where(AuditEvent.object_type == args["object_type"])
    start, end = _parse_day(args.get("start")), _parse_day(args.get("end"))
    if start:
        statement = statement.where(AuditEvent.at >= datetime.combine(start, time.min, local_zone()))
    if end:
        statement = statement.where(AuditEvent.at < datetime.combine(end + timedelta(days=1), time.min, local_zone()))
    page = paginate(statement)
    return render_template("audit/events.html", page=page, sentences=describe(page.items), actions=ACTION_LABELS,
                           args=args)
