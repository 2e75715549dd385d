"""caretrack: 一生一档 for a city's schools."""

import logging
from pathlib import Path

from flask import Flask

import config as config_module
from caretrack.extensions import babel, csrf, db, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _blueprints():
    """The app's blueprints, in one explicit list."""
    from caretrack.accounts import bp as accounts_bp
    from caretrack.activities import bp as activities_bp
    from caretrack.audit import bp as audit_bp
    from caretrack.dashboard import bp as dashboard_bp
    from caretrack.duties import bp as duties_bp
    from caretrack.followups import bp as followups_bp
    from caretrack.ledger import bp as ledger_bp
    from caretrack.notify import bp as notify_bp
    from caretrack.notify.calendar import calendar_bp
    from caretrack.org import bp as org_bp
    from caretrack.screening import bp as screening_bp
    from caretrack.students import bp as students_bp
    from caretrack.students import caseloads_bp
    from caretrack.summaries import bp as summaries_bp

    return [dashboard_bp, accounts_bp, org_bp, students_bp, caseloads_bp, ledger_bp, followups_bp,
            calendar_bp, activities_bp, screening_bp, summaries_bp, duties_bp, notify_bp, audit_bp]


def _import_models() -> None:
    """Import every models module so the metadata (and Alembic) sees every table."""
    import caretrack.accounts.models  # noqa: F401
    import caretrack.activities.models  # noqa: F401
    import caretrack.audit.models  # noqa: F401
    import caretrack.core.keyring  # noqa: F401
    import caretrack.core.lease  # noqa: F401
    import caretrack.duties.models  # noqa: F401
    import caretrack.followups.models  # noqa: F401
    import caretrack.jobs.models  # noqa: F401
    import caretrack.ledger.models  # noqa: F401
    import caretrack.notify.models  # noqa: F401
    import caretrack.org.models  # noqa: F401
    import caretrack.screening.models  # noqa: F401
    import caretrack.students.models  # noqa: F401
    import caretrack.summaries.models  # noqa: F401


def create_app(config: dict | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, CLI and template helpers."""
    app = Flask(
        __name__,
        instance_path=str(config_module.instance_path()),
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    app.config.update(config_module.load_config())
    if config:
        app.config.update(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)

    _import_models()
    from caretrack.accounts import sessions
    from caretrack.core import database, i18n, keyring, requests, web
    from caretrack.core.urls import IdConverter

    database.init_app(app)
    keyring.verify_at_start(app)  # a wrong CARETRACK_DATA_KEY stops the start here, naming the problem
    i18n.init_app(app, babel)
    sessions.init_app(app, login_manager)
    web.init_app(app)
    from caretrack.core import totals

    totals.init_app(app)
    # Before the routes are added: every `<int:...>` in them is then an id that fits the database.
    app.url_map.converters["int"] = IdConverter
    requests.init_app(app)  # after the other after-request functions, so it runs before them
    for blueprint in _blueprints():
        app.register_blueprint(blueprint)

    from caretrack.cli import cli

    app.cli.add_command(cli)
    logging.getLogger("caretrack").setLevel(app.config.get("LOG_LEVEL", "INFO"))
    return app
