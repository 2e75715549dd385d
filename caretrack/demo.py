"""A small synthetic city for `make run` and for trying caretrack: every name here is made up."""

from dataclasses import dataclass

from sqlalchemy import select

from caretrack.accounts import services as accounts
from caretrack.accounts.models import User
from caretrack.core.access import Role, ScopeType
from caretrack.extensions import db
from caretrack.org import services as org
from caretrack.org.models import Stage, Unit, UnitKind

DEMO_PASSWORD = "demo-2025!"

UNITS = [
    org.UnitData("990000", "示例市", UnitKind.CITY, None, []),
    org.UnitData("990101", "东城区", UnitKind.DISTRICT, "990000", []),
    org.UnitData("4199010001", "示例理工大学", UnitKind.UNIVERSITY, "990000", [Stage.HIGHER]),
    org.UnitData("2199010101", "东城区第一中学", UnitKind.SCHOOL, "990101", [Stage.COMPULSORY, Stage.SENIOR_HIGH]),
]
COLLEGES = {"4199010001": {"机械工程学院": ["机械2401", "机械2402"], "经济管理学院": ["经管2401"]}}
CLASSES = {"2199010101": ["初一(1)班", "初一(2)班", "高一(1)班"]}


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: Role
    scope_type: ScopeType
    scope: str  # a unit code, or "school code/class name"


USERS = [
    DemoUser("city", "市资助中心 王主任", Role.CITY_ADMIN, ScopeType.UNIT, "990000"),
    DemoUser("district", "东城区资助中心 李老师", Role.DISTRICT_OFFICER, ScopeType.UNIT, "990101"),
    DemoUser("uni_officer", "示例理工大学资助中心 赵老师", Role.SCHOOL_OFFICER, ScopeType.UNIT, "4199010001"),
    DemoUser("uni_counselor", "机械学院辅导员 陈老师", Role.COUNSELOR, ScopeType.COLLEGE, "4199010001/机械工程学院"),
    DemoUser("school_officer", "东城一中资助中心 周老师", Role.SCHOOL_OFFICER, ScopeType.UNIT, "2199010101"),
    DemoUser("teacher", "初一(1)班班主任 刘老师", Role.CLASS_TEACHER, ScopeType.CLASS, "2199010101/初一(1)班"),
    DemoUser("teacher2", "初一(2)班班主任 孙老师", Role.CLASS_TEACHER, ScopeType.CLASS, "2199010101/初一(2)班"),
    DemoUser("inspector", "市督导 吴老师", Role.INSPECTOR, ScopeType.UNIT, "990000"),
]


def _unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def _build_org() -> None:
    for data in UNITS:
        org.save_unit(None, data, _unit(data.code))
    for code, colleges in COLLEGES.items():
        school = _unit(code)
        for college_name, class_names in colleges.items():
            college = org.get_or_create_college(None, school, college_name)
            for class_name in class_names:
                org.get_or_create_class(None, school, class_name, college)
    for code, class_names in CLASSES.items():
        for class_name in class_names:
            org.get_or_create_class(None, _unit(code), class_name)


def _scope_target(demo_user: DemoUser):
    if demo_user.scope_type is ScopeType.UNIT:
        return _unit(demo_user.scope)
    code, name = demo_user.scope.split("/")
    school = _unit(code)
    if demo_user.scope_type is ScopeType.COLLEGE:
        return org.get_or_create_college(None, school, name)
    return org.get_or_create_class(None, school, name)


def _build_users() -> None:
    for demo_user in USERS:
        if db.session.scalar(select(User.id).where(User.username == demo_user.username)):
            continue
        user, _password = accounts.create_user(None, username=demo_user.username,
                                               display_name=demo_user.display_name, password=DEMO_PASSWORD)
        user.must_change_password = False  # demo accounts are for trying things out at once
        accounts.grant_role(None, user, demo_user.role, demo_user.scope_type, _scope_target(demo_user))


def is_loaded() -> bool:
    return db.session.scalar(select(User.id).where(User.username == USERS[0].username)) is not None


def load() -> None:
    """Create the demo city (idempotent); the caller commits."""
    _build_org()
    _build_users()
