"""The aid project catalog: everyone who works with the ledger reads it; the city admin edits it."""

from decimal import Decimal

from flask import redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from caretrack.core.access import Permission, permission_required
from caretrack.core.errors import DomainError
from caretrack.core.forms import flash_saved
from caretrack.extensions import db
from caretrack.ledger import bp, services
from caretrack.ledger.forms import ProjectForm
from caretrack.ledger.models import AidProject, Grade
from caretrack.org.models import Stage


@bp.route("/catalog")
@login_required
@permission_required(Permission.LEDGER_VIEW)
def list_projects():
    projects = db.session.scalars(select(AidProject).order_by(AidProject.stage, AidProject.id)).all()
    by_stage = {stage: [p for p in projects if p.stage == stage.value] for stage in Stage}
    return render_template("ledger/catalog.html", by_stage=by_stage)


def parse_standards(text: str, has_grades: bool) -> list[tuple[str | None, str | None, Decimal]]:
    """Lines such as "一档=4950" or "小学=1250" or "=6000" into (grade, variant, amount)."""
    standards = []
    for line in filter(None, (raw.strip() for raw in (text or "").splitlines())):
        key, sep, value = line.partition("=")
        if not sep:
            raise DomainError(_("资助标准每行应写成“档次或类别=金额”。"), field="standards")
        grade = Grade.from_zh(key) if key.strip() else None
        if has_grades and grade is None:
            raise DomainError(_("分档项目的标准应写成“一档=金额”。"), field="standards")
        standards.append((grade.value if grade else None, None if grade else (key.strip() or None),
                          services.parse_amount(value)))
    return standards


def _project_data(form: ProjectForm) -> services.ProjectData:
    has_grades = form.has_grades.data == "1"
    return services.ProjectData(
        name=form.name.data, stage=Stage(form.stage.data), has_grades=has_grades, period=form.period.data,
        valid_from=form.valid_from.data, valid_to=form.valid_to.data,
        standards=parse_standards(form.standards.data, has_grades), note=form.note.data)


def _standards_text(project: AidProject) -> str:
    return "\n".join(f"{Grade(s.grade).zh_name if s.grade else (s.variant or '')}={s.amount}"
                     for s in project.standards)


@bp.route("/catalog/new", methods=["GET", "POST"], defaults={"project_id": None})
@bp.route("/catalog/<int:project_id>/edit", methods=["GET", "POST"])
@login_required
@permission_required(Permission.CATALOG_MANAGE)
def edit_project(project_id: int | None):
    project = db.get_or_404(AidProject, project_id) if project_id else None
    form = ProjectForm(obj=project) if project else ProjectForm()
    if project and not form.is_submitted():
        form.has_grades.data = "1" if project.has_grades else "0"
        form.standards.data = _standards_text(project)
    if form.validate_on_submit():
        try:
            services.save_project(current_user, _project_data(form), project)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            flash_saved(_("资助项目已保存。已有的发放记录不受影响。"))
            return redirect(url_for("ledger.list_projects"))
    return render_template("ledger/project_form.html", form=form, project=project), 400 if form.errors else 200
