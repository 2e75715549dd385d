"""One-line test data: units, classes and users with roles."""

import itertools

from caretrack.accounts import services as accounts
from caretrack.accounts.models import User
from caretrack.core.access import Role, ScopeType
from caretrack.extensions import db
from caretrack.org import services as org
from caretrack.org.models import Stage, Unit, UnitKind

PASSWORD = "test-pass-123"
_sequence = itertools.count(1)


def make_unit(code: str, name: str, kind: UnitKind, parent: Unit | None = None,
              stages: list[Stage] | None = None) -> Unit:
    data = org.UnitData(code=code, name=name, kind=kind, parent_code=parent.code if parent else None,
                        stages=stages or ([] if not kind.is_school else [Stage.COMPULSORY]))
    unit, _changed = org.save_unit(None, data)
    return unit


def make_user(role: Role | None = None, scope=None, *, username: str | None = None,
              must_change_password: bool = False, **fields) -> User:
    """A user with a known password, optionally holding `role` on `scope` (a unit, college or class)."""
    username = username or f"user{next(_sequence)}"
    user, _password = accounts.create_user(None, username=username, display_name=fields.pop("display_name", username),
                                           password=PASSWORD, **fields)
    user.must_change_password = must_change_password
    if role is not None:
        accounts.grant_role(None, user, role, scope_type_of(scope), scope)
    db.session.flush()
    return user


def scope_type_of(target) -> ScopeType:
    from caretrack.org.models import College, SchoolClass

    if isinstance(target, College):
        return ScopeType.COLLEGE
    if isinstance(target, SchoolClass):
        return ScopeType.CLASS
    return ScopeType.UNIT


class City:
    """The organisation every access test works on: two districts, one school each, and a university."""

    def __init__(self):
        self.city = make_unit("990000", "示例市", UnitKind.CITY)
        self.east = make_unit("990101", "东城区", UnitKind.DISTRICT, self.city)
        self.west = make_unit("990102", "西城区", UnitKind.DISTRICT, self.city)
        self.east_school = make_unit("2199010101", "东城区第一中学", UnitKind.SCHOOL, self.east,
                                     [Stage.COMPULSORY, Stage.SENIOR_HIGH])
        self.west_school = make_unit("2199010201", "西城区民族中学", UnitKind.SCHOOL, self.west)
        self.university = make_unit("4199010001", "示例理工大学", UnitKind.UNIVERSITY, self.city, [Stage.HIGHER])
        self.college = org.get_or_create_college(None, self.university, "机械工程学院")
        self.other_college = org.get_or_create_college(None, self.university, "外国语学院")
        self.uni_class = org.get_or_create_class(None, self.university, "机械2401", self.college)
        self.class_a = org.get_or_create_class(None, self.east_school, "初一(1)班")
        self.class_b = org.get_or_create_class(None, self.east_school, "初一(2)班")
        self.west_class = org.get_or_create_class(None, self.west_school, "初一(1)班")
        db.session.flush()

    def user(self, role: Role, scope, **kwargs) -> User:
        return make_user(role, scope, **kwargs)


def build_city() -> City:
    return City()
