"""Fixtures of the duties tests: the city, its officers and the seeded duty types by code."""

import pytest
from sqlalchemy import select

from caretrack.core.access import Role
from caretrack.duties.models import DutyType
from caretrack.extensions import db
from caretrack.org.services import ensure_academic_year
from tests.factories import make_user


@pytest.fixture
def duties(app):
    """The duty types the migration seeded, by code."""
    return {duty.code: duty for duty in db.session.scalars(select(DutyType))}


@pytest.fixture
def year(app):
    return ensure_academic_year(2025)


@pytest.fixture
def people(city):
    """An officer of each level, and a class teacher (no duties role)."""
    return {
        "admin": make_user(Role.CITY_ADMIN, city.city, display_name="市 王主任"),
        "east": make_user(Role.DISTRICT_OFFICER, city.east, display_name="东城 李老师"),
        "west": make_user(Role.DISTRICT_OFFICER, city.west, display_name="西城 钱老师"),
        "school": make_user(Role.SCHOOL_OFFICER, city.east_school, display_name="一中 周老师"),
        "uni": make_user(Role.SCHOOL_OFFICER, city.university, display_name="理工 赵老师"),
        "teacher": make_user(Role.CLASS_TEACHER, city.class_a, display_name="班主任"),
        "inspector": make_user(Role.INSPECTOR, city.city, display_name="督导"),
    }
