"""A hand-made ledger for one term: the student 李明 of 初一(1)班, 2025-2026 term 1 (1 Sep - 31 Jan)."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from caretrack.extensions import db
from caretrack.followups.models import FollowUp, FollowUpStatus
from caretrack.ledger.models import RecordKind
from caretrack.org.services import ensure_academic_year
from caretrack.students.models import Category, Level
from tests.factories import care, identify, make_student, make_user, pay


@dataclass
class Ledger:
    city: object
    student: object
    year: object
    teacher: object


def followup(student, owner, *, status, due_on, closed_on=None):
    row = FollowUp(student_id=student.id, school_id=student.school_id, kind="visit", assignee_id=owner.id,
                   due_on=due_on, status=status, closed_on=closed_on)
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def ledger(city):
    """Every section has something in the term, and something just outside it that must not count."""
    from caretrack.core.access import Role

    year = ensure_academic_year(2025)
    ensure_academic_year(2024)
    teacher = make_user(Role.CLASS_TEACHER, city.class_a, username="banzhuren")
    student = make_student(city.class_a, name="李明", student_no="S2025001")
    identify(student, 2025, Category.RURAL_DIBAO, Category.ORPHAN, level=Level.SPECIAL)
    # aid: a payment naming term 1, one naming no term paid in term 1's dates, one of term 2, one removed later
    pay(student, "免学杂费", "600.00", term=1, paid_on=date(2025, 9, 10))
    pay(student, "家庭经济困难寄宿生生活补助", "625.00", paid_on=date(2025, 11, 20))
    pay(student, "营养改善计划", "400.00", term=2, paid_on=date(2026, 1, 20))  # names term 2: not term 1
    pay(student, "营养改善计划", "99.00", start_year=2024, paid_on=date(2025, 8, 20))  # before term 1 starts
    care(student, RecordKind.TALK, summary="谈学习计划", happened_on=date(2025, 10, 8))
    care(student, RecordKind.HOME_VISIT, summary="家访了解家庭情况", happened_on=date(2025, 12, 5))
    care(student, RecordKind.PSYCH_CARE, summary="心理辅导：焦虑情绪", happened_on=date(2025, 11, 3))
    care(student, RecordKind.TUTORING, summary="数学辅导", happened_on=date(2026, 1, 10))
    care(student, RecordKind.WORK_STUDY, summary="图书馆整理", happened_on=date(2025, 10, 15),
         post="图书馆", hours=Decimal("12.5"), pay=Decimal("250.00"))
    care(student, RecordKind.TALK, summary="开学前谈话", happened_on=date(2025, 8, 25))  # before the term
    followup(student, teacher, status=FollowUpStatus.DONE, due_on=date(2025, 10, 1), closed_on=date(2025, 10, 2))
    followup(student, teacher, status=FollowUpStatus.OPEN, due_on=date(2026, 1, 15))
    followup(student, teacher, status=FollowUpStatus.OPEN, due_on=date(2026, 3, 1))  # due next term
    followup(student, teacher, status=FollowUpStatus.CANCELLED, due_on=date(2025, 11, 1))
    return Ledger(city, student, year, teacher)
