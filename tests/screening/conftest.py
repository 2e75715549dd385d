"""Hand-made students for the screening rules: a university, a vocational school, a district's schools."""

from datetime import date
from decimal import Decimal

import pytest

from caretrack.ledger.models import Grade
from caretrack.org.models import Stage, UnitKind
from caretrack.org.services import ensure_academic_year, get_or_create_class
from caretrack.screening.rules import seed_rules
from tests.factories import identify, make_student, make_unit, pay

YEAR = 2025


@pytest.fixture
def year(app):
    return ensure_academic_year(YEAR)


@pytest.fixture
def world(city, year):
    """The test city plus a vocational school, with the catalog and the seeded rules."""
    seed_rules()
    city.vocational = make_unit("3199010001", "示例市交通运输职业学校", UnitKind.VOCATIONAL, city.city,
                                [Stage.VOCATIONAL])
    city.voc_class = get_or_create_class(None, city.vocational, "汽修2501")
    city.primary = make_unit("2199010102", "东城区实验小学", UnitKind.SCHOOL, city.east, [Stage.COMPULSORY])
    city.primary_class = get_or_create_class(None, city.primary, "三年级1班")
    return city


def student(school_class, *categories, stage=None, boarder=False, level=None, name=None, **flags):
    """An identified student of the class for 2025-2026."""
    kid = make_student(school_class, stage=stage, is_boarder=boarder, name=name)
    identify(kid, YEAR, *categories, level=level, **flags)
    return kid


def grant(kid, name="国家助学金", grade=Grade.FIRST, amount="2475.00", term=1, paid_on=None, year=YEAR):
    paid_on = paid_on or (date(year, 10, 20) if term in (1, None) else date(year + 1, 3, 20))
    return pay(kid, name, amount, year, grade=grade, term=term, paid_on=paid_on)


__all__ = ["Decimal", "grant", "student"]
