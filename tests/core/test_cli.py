"""The `flask caretrack ...` commands."""

from pathlib import Path

from sqlalchemy import func, select

from caretrack import demo
from caretrack.accounts.models import RoleAssignment, User
from caretrack.audit.models import AuditEvent
from caretrack.core.access import Role, ScopeType
from caretrack.core.timeutil import local_today
from caretrack.extensions import db
from caretrack.org.models import AcademicYear, College, SchoolClass, Term, Unit, UnitKind
from caretrack.org.services import academic_year_of
from tests.factories import make_unit

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "samples" / "units-sample.csv"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


# --- init and demo -----------------------------------------------------------------------------------------

def test_init_seeds_years_and_default_terms_and_is_idempotent(runner):
    first = runner.invoke(args=["caretrack", "init"])
    assert first.exit_code == 0, first.output
    years, terms = count(AcademicYear), count(Term)
    current = academic_year_of(local_today())
    assert db.session.scalar(select(AcademicYear).where(AcademicYear.start_year == current + 1)) is not None
    assert terms == 2 * years
    second = runner.invoke(args=["caretrack", "init"])
    assert second.exit_code == 0, second.output
    assert (count(AcademicYear), count(Term)) == (years, terms)


def test_demo_prints_every_login_and_loads_once_with_if_empty(runner):
    first = runner.invoke(args=["caretrack", "demo", "--if-empty"])
    assert first.exit_code == 0, first.output
    for demo_user in demo.USERS:
        assert demo_user.username in first.output
    assert demo.DEMO_PASSWORD in first.output
    assert {u.username for u in db.session.scalars(select(User))} == {u.username for u in demo.USERS}
    loaded = (count(Unit), count(User), count(RoleAssignment), count(College), count(SchoolClass), count(AuditEvent))
    second = runner.invoke(args=["caretrack", "demo", "--if-empty"])
    assert second.exit_code == 0, second.output
    assert demo.DEMO_PASSWORD in second.output
    assert (count(Unit), count(User), count(RoleAssignment), count(College), count(SchoolClass),
            count(AuditEvent)) == loaded


def test_demo_users_hold_their_roles_and_can_log_in(runner, client):
    runner.invoke(args=["caretrack", "demo"])
    teacher = db.session.scalar(select(User).where(User.username == "teacher"))
    assert [(a.role, a.scope_type) for a in teacher.role_assignments] == [(Role.CLASS_TEACHER, ScopeType.CLASS)]
    response = client.post("/login", data={"username": "teacher", "password": demo.DEMO_PASSWORD})
    assert response.location == "/"
    assert client.get("/").status_code == 200  # no forced password change for demo accounts


# --- user create -------------------------------------------------------------------------------------------

def test_user_create_prints_the_initial_password_and_grants_the_role(app, runner, client):
    make_unit("990000", "示例市", UnitKind.CITY)
    result = runner.invoke(args=["caretrack", "user", "create", "--username", "admin", "--role", "city_admin",
                                 "--scope", "990000"])
    assert result.exit_code == 0, result.output
    password = last_line(result.output).rsplit("initial password: ", 1)[1]
    user = db.session.scalar(select(User).where(User.username == "admin"))
    assert [(a.role, a.scope_type) for a in user.role_assignments] == [(Role.CITY_ADMIN, ScopeType.UNIT)]
    assert user.must_change_password
    response = client.post("/login", data={"username": "admin", "password": password})
    assert response.status_code == 302
    assert client.get("/").location == "/password"


def test_user_create_refuses_an_unknown_unit_code_and_writes_nothing(runner):
    users, events = count(User), count(AuditEvent)
    result = runner.invoke(args=["caretrack", "user", "create", "--username", "admin", "--role", "city_admin",
                                 "--scope", "123456"])
    assert result.exit_code != 0
    assert "单位代码“123456”不存在" in result.output
    assert (count(User), count(AuditEvent)) == (users, events)


def test_user_create_refuses_a_role_that_does_not_fit_the_unit(runner, city):
    users = count(User)
    result = runner.invoke(args=["caretrack", "user", "create", "--username", "admin", "--role", "city_admin",
                                 "--scope", "990101"])
    assert result.exit_code != 0
    assert "不能授予在区级单位上" in result.output
    assert count(User) == users


def test_user_create_refuses_an_unknown_role(runner, city):
    result = runner.invoke(args=["caretrack", "user", "create", "--username", "admin", "--role", "boss",
                                 "--scope", "990000"])
    assert result.exit_code != 0
    assert "city_admin" in result.output  # the choices are listed


# --- import units ------------------------------------------------------------------------------------------

def test_import_units_prints_the_summary_last(runner):
    result = runner.invoke(args=["caretrack", "import", "units", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert last_line(result.output) == "created 11, updated 0, unchanged 0, invalid 0"
    again = runner.invoke(args=["caretrack", "import", "units", str(SAMPLE)])
    assert last_line(again.output) == "created 0, updated 0, unchanged 11, invalid 0"


def test_import_units_dry_run_writes_nothing(runner):
    result = runner.invoke(args=["caretrack", "import", "units", "--dry-run", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert "would 新增：990000 示例市" in result.output
    assert last_line(result.output) == "created 11, updated 0, unchanged 0, invalid 0"
    assert count(Unit) == 0


def test_import_units_refuses_a_bad_file_and_exits_non_zero(runner, tmp_path):
    bad = tmp_path / "units.csv"
    bad.write_text(SAMPLE.read_text(encoding="utf-8-sig").replace("990101,东城区,区", "99010,东城区,区"),
                   encoding="utf-8")
    result = runner.invoke(args=["caretrack", "import", "units", str(bad)])
    assert result.exit_code == 1
    assert "line 3, 单位代码: 区的单位代码应为 6 位数字。" in result.output
    assert "refused: " in result.output
    assert last_line(result.output).startswith("created 0, updated 0, unchanged 0, invalid ")
    assert count(Unit) == 0


def test_import_units_skip_invalid_imports_the_rest(runner, tmp_path):
    bad = tmp_path / "units.csv"
    bad.write_text(SAMPLE.read_text(encoding="utf-8-sig").replace("幼儿园,990101,学前教育", "幼儿园,990101,幼教"),
                   encoding="utf-8")
    result = runner.invoke(args=["caretrack", "import", "units", "--skip-invalid", str(bad)])
    assert result.exit_code == 0, result.output
    assert last_line(result.output) == "created 10, updated 0, unchanged 0, invalid 1"
    assert count(Unit) == 10


def test_import_units_refuses_a_binary_file(runner, tmp_path):
    binary = tmp_path / "units.csv"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    result = runner.invoke(args=["caretrack", "import", "units", str(binary)])
    assert result.exit_code == 1
    assert "refused: 文件不是文本格式的 CSV" in result.output
