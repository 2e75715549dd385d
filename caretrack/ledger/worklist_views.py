"""The worklist of a counselor or class teacher (关怀台账, their caseload): whom to contact next."""

from flask import current_app, render_template, request
from flask_login import current_user, login_required

from caretrack.accounts.services import home_unit
from caretrack.core.access import Permission, permission_required
from caretrack.core.timeutil import local_today
from caretrack.core.urls import parse_id
from caretrack.ledger import bp, queries
from caretrack.org import services as org

# Domains above the ledger add what they know about each student here (follow-ups: the visit cadence):
# each is a function(rows, year, today) returning (column title, {student id: list of (label, css class)}).
CASELOAD_COLUMNS: list = []


def register_caseload_column(column) -> None:
    CASELOAD_COLUMNS.append(column)


@bp.route("/caseload")
@login_required
@permission_required(Permission.LEDGER_VIEW)
def my_caseload():
    today = local_today()
    year = org.current_year(home_unit(current_user), today)
    raw_days = request.args.get("days", "")
    days = parse_id(raw_days)
    stale_days = days if days and days < 1000 else current_app.config["CARE_STALE_DAYS"]
    sort = request.args.get("sort", "contact")
    only_stale = request.args.get("stale") == "1"
    page = queries.caseload(current_user, year, today, stale_days, sort, only_stale) if year else None
    rows = page.items if page else []
    columns = [column(rows, year, today) for column in CASELOAD_COLUMNS] if rows else []
    return render_template("ledger/caseload.html", page=page, rows=rows, year=year, stale_days=stale_days,
                           sort=sort, columns=columns, only_stale=only_stale)
