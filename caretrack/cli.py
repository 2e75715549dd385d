"""The `flask caretrack ...` command group."""

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from caretrack import demo
from caretrack.core.access import Role, ScopeType
from caretrack.core.errors import DomainError
from caretrack.core.imports import ImportReport, run_import
from caretrack.core.tabular import count_rows
from caretrack.core.timeutil import local_today
from caretrack.extensions import db
from caretrack.org import services as org_services

cli = AppGroup("caretrack", help="caretrack administration.")
FIRST_SEEDED_YEAR = 2020


@cli.command("init")
def init_command():
    """Seed catalogs and the default term dates (safe to run again)."""
    from caretrack.ledger.services import seed_catalog

    current = org_services.academic_year_of(local_today())
    for start_year in range(FIRST_SEEDED_YEAR, current + 2):
        org_services.ensure_academic_year(start_year)
    from caretrack.followups.services import seed_cadence
    from caretrack.screening.rules import seed_rules

    created = seed_catalog()
    rules = seed_cadence()
    screening_rules = seed_rules()
    from caretrack.core import keyring

    keyring.check_data_key()
    keyring.remember_data_key()
    db.session.commit()
    click.echo(f"academic years {FIRST_SEEDED_YEAR}-{FIRST_SEEDED_YEAR + 1} .. {current + 1}-{current + 2} ready")
    click.echo(f"aid project catalog: {created} projects added; visit cadence: {rules} rules added; "
               f"screening rules: {screening_rules} added")


@cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Load only when the demo city is not there yet.")
def demo_command(if_empty: bool):
    """Load the small synthetic demo city and print its logins."""
    if not (if_empty and demo.is_loaded()):
        demo.load()
        db.session.commit()
    click.echo("Demo logins (password for all: %s):" % demo.DEMO_PASSWORD)
    for user in demo.USERS:
        click.echo(f"  {user.username:<15} {user.role.zh_name:<10} {user.display_name}")


@cli.command("samples")
@click.option("-o", "--output", "directory", required=True, type=click.Path(file_okay=False),
              help="The folder to write into (docs/samples in the repository).")
def samples_command(directory: str):
    """Write the sample import files (synthetic people, valid ID numbers), the same bytes every time."""
    for name in demo.write_samples(directory):
        click.echo(f"{Path(directory) / name}")


@cli.group("user")
def user_group():
    """Manage user accounts."""


@user_group.command("create")
@click.option("--username", required=True)
@click.option("--role", "role_name", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--scope", "scope_code", required=True, help="The unit code the role is granted on.")
@click.option("--display-name", default=None)
@click.option("--password", default=None, help="Initial password (generated when omitted).")
def user_create(username: str, role_name: str, scope_code: str, display_name: str | None, password: str | None):
    """Create a user holding ROLE on the unit SCOPE; the initial password must be changed at first login."""
    from caretrack.accounts import services

    try:
        target = services.resolve_scope(ScopeType.UNIT, scope_code)
        user, password = services.create_user(None, username=username, display_name=display_name or username,
                                              password=password)
        services.grant_role(None, user, Role(role_name), ScopeType.UNIT, target)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"created user {user.username} ({role_name} on {target.code}); initial password: {password}")


@cli.group("import")
def import_group():
    """Import rosters from CSV or XLSX files."""


class ProgressBars:
    """The import's progress on the terminal: one bar for checking the rows, one for writing them."""

    LABELS = {"validate": "checking", "write": "writing "}

    def __init__(self, total: int):
        self.total, self.phase, self.bar, self.shown = total, None, None, 0

    def __call__(self, phase: str, count: int) -> None:
        if phase != self.phase:
            self.close()
            self.phase, self.shown = phase, 0
            self.bar = click.progressbar(length=self.total, label=self.LABELS.get(phase, phase), file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(count - self.shown)
        self.shown = count

    def close(self) -> None:
        if self.bar is not None:
            self.bar.update(self.total - self.shown)  # the last rows after the last report
            self.bar.__exit__(None, None, None)
            self.bar = None


def _run_file_import(importer, path: str, skip_invalid: bool, dry_run: bool) -> ImportReport:
    bars = ProgressBars(count_rows(Path(path)))
    with Path(path).open("rb") as stream:
        try:
            report = run_import(importer, stream, path, skip_invalid=skip_invalid, dry_run=dry_run, progress=bars)
        finally:
            bars.close()
    if report.refused or dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    for column in report.unknown_columns:
        click.echo(f"unknown column ignored: {column}")
    for error in report.errors:
        click.echo(f"line {error.line}, {error.column or '-'}: {error.reason}")
    for warning in report.warnings:
        click.echo(f"warning: line {warning.line}, {warning.column or '-'}: {warning.reason}")
    if report.refused:
        click.echo(f"refused: {report.refused_reason}")
    for change in report.changes if dry_run else ():
        click.echo(f"would {change}")
    click.echo(report.summary)
    if report.refused:
        sys.exit(1)
    return report


def import_options(func):
    func = click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")(func)
    func = click.option("--skip-invalid", is_flag=True, help="Import the valid rows, report the rest.")(func)
    return click.argument("path", type=click.Path(exists=True, dir_okay=False))(func)


@import_group.command("units")
@import_options
def import_units(path: str, skip_invalid: bool, dry_run: bool):
    """Import units (单位) from FILE."""
    from caretrack.org.importers import UnitImporter

    _run_file_import(UnitImporter(None), path, skip_invalid, dry_run)


@import_group.command("students")
@import_options
def import_students(path: str, skip_invalid: bool, dry_run: bool):
    """Import a student roster (学生名单) from FILE."""
    from caretrack.students.importers import StudentImporter

    _run_file_import(StudentImporter(None), path, skip_invalid, dry_run)


@import_group.command("disbursements")
@import_options
def import_disbursements(path: str, skip_invalid: bool, dry_run: bool):
    """Import disbursements (资助资金发放) from FILE."""
    from caretrack.ledger.importers import DisbursementImporter

    _run_file_import(DisbursementImporter(None), path, skip_invalid, dry_run)


@import_group.command("budgets")
@import_options
def import_budgets(path: str, skip_invalid: bool, dry_run: bool):
    """Import budgets (资助经费年度预算: 单位代码, 资助项目, 学段, 学年, 预算金额) from FILE."""
    from caretrack.duties.importers import BudgetImporter

    _run_file_import(BudgetImporter(None), path, skip_invalid, dry_run)


@cli.group("screening")
def screening_group():
    """Run the term screening and produce the official tables."""


def _unit_year(unit_code: str, year_label: str):
    from caretrack.org.models import AcademicYear, Unit

    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None:
        raise click.ClickException(f"unit {unit_code} does not exist")
    try:
        start_year = org_services.parse_year_label(year_label)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    year = db.session.scalar(select(AcademicYear).where(AcademicYear.start_year == start_year))
    if year is None:
        raise click.ClickException(f"academic year {year_label} is not set up (run `flask caretrack init`)")
    return unit, year


def screening_options(func):
    func = click.option("--term", type=click.IntRange(1, 2), required=True)(func)
    func = click.option("--year", "year_label", required=True, help="e.g. 2025-2026")(func)
    return click.option("--unit", "unit_code", required=True, help="school or district code")(func)


@screening_group.command("run")
@screening_options
def screening_run(unit_code: str, year_label: str, term: int):
    """Screen a school, or every school of a district, for one term."""
    from caretrack.screening import services

    unit, year = _unit_year(unit_code, year_label)
    try:
        with services.exclusive_run(unit, year, term):
            run = services.run_screening(None, unit, year, term)
            db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    click.echo(f"screened {unit.code} {year.label} term {term}: {run.cases_found} cases")


@screening_group.command("table")
@screening_options
@click.option("--format", "output_format", type=click.Choice(["xlsx", "json"]), default="xlsx")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False))
@click.option("--reveal-ids", is_flag=True, help="Full ID numbers instead of masked ones.")
def screening_table(unit_code: str, year_label: str, term: int, output_format: str, output: str, reveal_ids: bool):
    """Write the unit's official table (附件1 for a school, 附件2 for a district)."""
    import json

    from caretrack.audit.services import record
    from caretrack.screening import services

    unit, year = _unit_year(unit_code, year_label)
    try:
        table = services.build_table(unit, year, term, reveal_ids=reveal_ids)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    if output_format == "json":
        Path(output).write_text(json.dumps(table.to_json(), ensure_ascii=False, indent=2), encoding="utf-8")
    else:
        from caretrack.screening.xlsx import form_workbook

        Path(output).write_bytes(form_workbook(table).getvalue())
    record(services.ScreeningAction.TABLE_EXPORTED, unit_id=unit.id,
           detail=f"cli {output_format} full_ids={reveal_ids}")
    db.session.commit()
    click.echo(f"{table.form} of {unit.code} written to {output} ({len(table.cases)} cases)")


@cli.group("summaries")
def summaries_group():
    """Term summaries per student (学期资助育人小结)."""


def _summary_scope(unit_code: str, year_label: str, term: int, student_no: str | None = None):
    from caretrack.summaries import queries, services

    unit, year = _unit_year(unit_code, year_label)
    students = queries.batch_students(year, unit_id=unit.id, student_no=student_no)
    if student_no and not students:
        raise click.ClickException(f"no student {student_no} with a file in {year.label} under {unit.code}")
    try:
        services.check_all_started([unit.id, *{s.school_id for s in students}], year, term, local_today())
    except DomainError as error:
        raise click.ClickException(error.message) from None
    return unit, year, students


@summaries_group.command("generate")
@screening_options
def summaries_generate(unit_code: str, year_label: str, term: int):
    """Generate the term summaries of every student of a unit (idempotent), committing class by class."""
    from caretrack.summaries import tasks

    unit, year, students = _summary_scope(unit_code, year_label, term)
    with click.progressbar(length=len(students), label="summaries") as bar:
        def progress(done: int, _total: int) -> None:
            bar.update(done - bar.pos)

        try:
            made = tasks.generate_batch(unit.id, year.start_year, term, progress=progress)
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
    click.echo(f"generated {made}")


@summaries_group.command("export")
@screening_options
@click.option("--format", "output_format", type=click.Choice(["json", "xlsx", "pdf"]), default="json")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False))
@click.option("--student", "student_no", default=None, help="学号: that student's summary only")
def summaries_export(unit_code: str, year_label: str, term: int, output_format: str, output: str,
                     student_no: str | None):
    """Write the unit's term summaries: JSON, an xlsx (a sheet per class), a PDF (a zip of one per student)."""
    import json

    from caretrack.summaries import files, pdf, queries, services

    _unit, year, students = _summary_scope(unit_code, year_label, term, student_no)
    summaries = queries.build_summaries(students, year, term)
    if output_format == "json":
        content = json.dumps([services.summary_record(s) for s in summaries], ensure_ascii=False, indent=2)
        Path(output).write_text(content + "\n", encoding="utf-8")
    elif output_format == "xlsx":
        Path(output).write_bytes(files.write_all(summaries, files.XLSX, local_today()))
    elif student_no:
        Path(output).write_bytes(pdf.render(summaries, local_today()))
    else:
        Path(output).write_bytes(files.write_all(summaries, files.ZIP, local_today()))
    click.echo(f"{len(summaries)} summaries written to {output}")


@cli.group("archive")
def archive_group():
    """The yearly archive: close a year, verify it, export a unit's frozen year."""


def _year(year_label: str):
    from caretrack.summaries.services import resolve_year

    try:
        return resolve_year(year_label)
    except DomainError as error:
        raise click.ClickException(error.message) from None


@archive_group.command("close")
@click.option("--year", "year_label", required=True, help="e.g. 2025-2026")
@click.option("--unit", "unit_code", default=None, help="only this unit and those under it")
@click.option("--force", is_flag=True, help="close although a term has not ended (audited)")
def archive_close(year_label: str, unit_code: str | None, force: bool):
    """Freeze the year's term summaries and submitted screening tables (closing twice changes nothing)."""
    from caretrack.summaries import archive

    unit, year = _unit_year(unit_code, year_label) if unit_code else (None, _year(year_label))
    try:
        report = archive.close_year(None, year, unit, force=force)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"closed {year.label}: {len(report.closed)} units, {report.snapshots} snapshots; "
               f"{report.already_closed} units already closed")


@archive_group.command("verify")
@click.option("--year", "year_label", required=True, help="e.g. 2025-2026")
def archive_verify(year_label: str):
    """Check every snapshot's hash and every unit's chain; name each bad snapshot and exit 1 if any."""
    from caretrack.summaries import archive

    year = _year(year_label)
    problems = archive.verify_year(year)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        sys.exit(1)
    click.echo(f"archive {year.label} verified")


@archive_group.command("export")
@click.option("--year", "year_label", required=True, help="e.g. 2025-2026")
@click.option("--unit", "unit_code", required=True)
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False))
def archive_export(year_label: str, unit_code: str, output: str):
    """Write the unit's frozen year as JSON."""
    from caretrack.summaries import archive

    unit, year = _unit_year(unit_code, year_label)
    try:
        Path(output).write_bytes(archive.export_unit(year, unit))
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"archive of {unit.code} {year.label} written to {output}")


@cli.command("scheduler")
def scheduler_command():
    """Run the scheduled jobs (one process per installation; a second one stands by)."""
    import logging
    import signal
    import threading

    from caretrack.scheduler import holder_name, run_forever

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # caretrack.scheduler logs each run it makes; APScheduler's own lines would repeat it for every firing.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_args: stop.set())
    config = current_app.config
    click.echo(f"scheduler {holder_name()} started ({config['CARETRACK_TIMEZONE']}, "
               f"lease {config['SCHEDULER_LEASE_SECONDS']} s)")
    run_forever(current_app._get_current_object(), stop)
    click.echo("scheduler stopped")


@cli.command("worker")
@click.option("-w", "--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Tasks run at once by this process (keep 1 on SQLite: one writer at a time).")
def worker_command(workers: int):
    """Consume the task queue (imports and other long work); run as many, on as many machines, as needed."""
    import logging

    from caretrack.jobs.queue import run_consumer
    from config import ConfigError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    click.echo(f"worker started: {workers} thread(s) on {_queue_label(current_app.config['CARETRACK_QUEUE_URL'])}")
    try:
        run_consumer(current_app._get_current_object(), workers)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    click.echo("worker stopped")


def _queue_label(url: str) -> str:
    """The queue's URL without its password, for the log."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
@cli.group("activities")
def activities_group():
    """Themed education activities: record one, import its sign-in sheet, report coverage."""


@activities_group.command("create")
@click.option("--organiser", "organiser_code", required=True, help="The organising unit's code.")
@click.option("--theme", "theme_names", required=True, multiple=True, help="A theme name; repeat for several.")
@click.option("--title", required=True)
@click.option("--date", "held_on", required=True, type=click.DateTime(["%Y-%m-%d"]), help="e.g. 2026-03-10")
@click.option("--place", default="")
def activities_create(organiser_code: str, theme_names: tuple[str, ...], title: str, held_on, place: str):
    """Record an activity; the last line printed is its number."""
    from caretrack.activities import services
    from caretrack.activities.models import Theme
    from caretrack.org.models import Unit

    unit = db.session.scalar(select(Unit).where(Unit.code == organiser_code))
    if unit is None:
        raise click.ClickException(f"unit {organiser_code} does not exist")
    themes = [db.session.scalar(select(Theme).where(Theme.name == name)) for name in theme_names]
    unknown = [name for name, theme in zip(theme_names, themes, strict=True) if theme is None]
    if unknown:
        raise click.ClickException(f"unknown theme: {', '.join(unknown)}")
    data = services.ActivityData(organiser=services.organiser_for("unit", unit), themes=themes, title=title,
                                 held_on=held_on.date(), place=place)
    try:
        activity, warnings = services.save_activity(None, data, local_today())
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    for warning in warnings:
        click.echo(f"warning: {warning}")
    click.echo(activity.id)


@activities_group.command("attendance")
@click.argument("activity_id", type=int)
@import_options
def activities_attendance(activity_id: int, path: str, skip_invalid: bool, dry_run: bool):
    """Import the sign-in sheet FILE of activity ACTIVITY_ID (学号, and 单位代码 for a city's or district's)."""
    from caretrack.activities.importers import AttendanceImporter
    from caretrack.activities.models import Activity

    activity = db.session.get(Activity, activity_id)
    if activity is None:
        raise click.ClickException(f"activity {activity_id} does not exist")
    _run_file_import(AttendanceImporter(None, activity), path, skip_invalid, dry_run)


@activities_group.command("coverage")
@click.option("--unit", "unit_code", required=True, help="school or district code")
@click.option("--year", "year_label", required=True, help="e.g. 2025-2026")
@click.option("--format", "output_format", type=click.Choice(["json", "xlsx"]), default="json")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False))
def activities_coverage(unit_code: str, year_label: str, output_format: str, output: str):
    """Write how many identified students each goal reached, and who was not (a district: all its schools)."""
    import json

    from caretrack.activities import queries
    from caretrack.activities.exports import coverage_workbook

    unit, year = _unit_year(unit_code, year_label)
    if output_format == "json":
        data = queries.coverage_json(unit, year)
        Path(output).write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        reached = ", ".join(f"{goal['主题']} {goal['已覆盖学生数']}/{goal['应覆盖学生数']}" for goal in data["目标"])
    else:
        entries = queries.coverage(unit, year)
        Path(output).write_bytes(coverage_workbook(unit.name, year.label, entries, True).getvalue())
        reached = ", ".join(f"{e.goal.theme.name} {e.reached}/{e.expected}" for e in entries)
    click.echo(f"coverage of {unit.code} {year.label} written to {output}: {reached}")


@cli.group("duties")
def duties_group():
    """The units' own duties: the compliance board of a unit and those reporting to it."""


@duties_group.command("board")
@click.option("--unit", "unit_code", required=True, help="the unit whose board (itself and its units) to write")
@click.option("--year", "year_label", required=True, help="e.g. 2025-2026")
@click.option("--format", "output_format", type=click.Choice(["json", "xlsx"]), default="json")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False))
def duties_board(unit_code: str, year_label: str, output_format: str, output: str):
    """Write each duty's status (已完成 / 未到期 / 逾期) with its records, for the unit and its units."""
    import json

    from caretrack.duties import exports
    from caretrack.org.models import Unit

    unit, year = _unit_year(unit_code, year_label)
    units = [unit, *db.session.scalars(select(Unit).where(Unit.parent_id == unit.id, Unit.is_active.is_(True))
                                       .order_by(Unit.code))]
    if output_format == "json":
        data = exports.board_json(units, year, local_today())
        Path(output).write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    else:
        Path(output).write_bytes(exports.board_workbook(units, year, local_today()).getvalue())
    click.echo(f"duties board of {unit.code} {year.label} written to {output} ({len(units)} units)")
# --- backup, restore, key rotation ------------------------------------------------------------------------

@cli.command("backup")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False))
def backup_command(output: str):
    """Write one consistent snapshot of the database and the attachments to FILE (ID numbers stay encrypted)."""
    from caretrack.audit.services import AuditAction, record
    from caretrack.core import backup

    manifest = backup.write_backup(Path(output), Path(current_app.instance_path))
    rows = sum(manifest["tables"].values())
    record(AuditAction.BACKUP_WRITTEN, detail=f"{rows} rows, {len(manifest['files'])} files")
    db.session.commit()
    for missing in manifest["missing_files"]:
        click.echo(f"warning: {missing} is named by a row but not in the instance folder", err=True)
    click.echo(f"backup written: {len(manifest['tables'])} tables, {rows} rows, {len(manifest['files'])} files")


@cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def restore_command(path: str):
    """Load a backup FILE into this instance, which must be empty (migrated, no rows, no attachments)."""
    from caretrack.audit.services import AuditAction, record
    from caretrack.core import backup, keyring

    try:
        manifest = backup.restore_backup(Path(path), Path(current_app.instance_path))
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    keyring.remember_data_key()  # a backup older than the fingerprint: remember the key that restored it
    rows = sum(manifest["tables"].values())
    record(AuditAction.BACKUP_RESTORED, detail=f"{rows} rows, {len(manifest['files'])} files, {manifest['created_at']}")
    db.session.commit()
    click.echo(f"restored: {len(manifest['tables'])} tables, {rows} rows, {len(manifest['files'])} files")


@cli.command("rotate-key")
@click.option("--batch-size", default=500, show_default=True, help="rows per transaction")
@click.option("--pause", default=0.0, show_default=True, help="seconds between batches, to spare a busy database")
def rotate_key_command(batch_size: int, pause: float):
    """Re-encrypt every ID number (and its blind index) and care text under CARETRACK_DATA_KEY (resumable, audited).

    The old key is CARETRACK_DATA_KEY_PREVIOUS, set on the web workers too for the time of the rotation.
    """
    from caretrack.students import tasks as keys

    try:
        keys.rotate(batch_size, pause, on_batch=lambda table, last_id, rows: click.echo(
            f"up to {'student' if table == keys.STUDENTS else table} {last_id}: {rows} rewritten"))
    except keys.RotationError as error:
        raise click.ClickException(str(error)) from None
    click.echo("rotation finished: remove CARETRACK_DATA_KEY_PREVIOUS everywhere and restart")


# --- personal data: one student's export, retention ---------------------------------------------------------

@cli.group("students")
def students_group():
    """The student files: personal-data requests."""


@students_group.command("export-one")
@click.argument("student_no")
@click.option("--school", "school_code", default=None, help="the school's unit code, when 学号 is not unique")
@click.option("-o", "--output", "output", default=None, type=click.Path(dir_okay=False), help="default: stdout")
def students_export_one(student_no: str, school_code: str | None, output: str | None):
    """Write one student's whole file as JSON (a request from the student or a guardian; audited)."""
    import json

    from caretrack.audit.services import AuditAction, record
    from caretrack.ledger.retention import export_student
    from caretrack.org.models import Unit
    from caretrack.students.models import Student

    query = select(Student).where(Student.student_no == student_no)
    if school_code:
        query = query.join(Unit, Unit.id == Student.school_id).where(Unit.code == school_code)
    found = db.session.scalars(query).all()
    if not found:
        raise click.ClickException(f"no student with 学号 {student_no}")
    if len(found) > 1:
        raise click.ClickException(f"{len(found)} students have 学号 {student_no}: name the school with --school")
    text = json.dumps(export_student(found[0]), ensure_ascii=False, indent=2)
    record(AuditAction.PERSONAL_DATA_EXPORTED, obj=found[0], unit_id=found[0].school_id)
    db.session.commit()
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text)


@cli.command("retention")
def retention_command():
    """Apply the retention rules now (the scheduler does it nightly); prints what it purged."""
    from caretrack.ledger.tasks import apply_retention

    purged, expired = apply_retention()
    click.echo(f"purged {purged} students, expired {expired} audit events")
