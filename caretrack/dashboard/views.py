"""The home page lists the user's own work; the language switch remembers a choice per session."""

from flask import current_app, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

import caretrack.dashboard.home  # noqa: F401 - registers the built-in home sections
from caretrack.accounts.queries import describe_scopes
from caretrack.core import totals
from caretrack.core.timeutil import local_today
from caretrack.core.web import local_target
from caretrack.dashboard import bp
from caretrack.dashboard.profile import my_classes, my_students, my_units
from caretrack.dashboard.queries import failed_imports as failed_imports_of
from caretrack.dashboard.sections import sections_for
from caretrack.jobs.import_views import IMPORT_PAGES


@bp.route("/")
@login_required
def home():
    assignments = current_user.role_assignments
    sections, students = sections_for(current_user, local_today()), my_students(current_user)
    return render_template("dashboard/home.html", assignments=assignments,
                           scope_names=describe_scopes(assignments), sections=sections,
                           units=my_units(current_user), classes=my_classes(current_user), students=students,
                           totals_counted_at=totals.counted_at())


@bp.route("/imports/failed")
@login_required
def failed_imports():
    """The user's own imports that failed: the school aid officer's home page counts them and links here."""
    jobs = failed_imports_of(current_user)
    return render_template("dashboard/failed_imports.html", jobs=jobs, pages=IMPORT_PAGES)


@bp.route("/language", methods=["POST"])
def set_language():
    locale = request.form.get("locale", "")
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
    return redirect(local_target(request.form.get("next"), url_for("dashboard.home")))
