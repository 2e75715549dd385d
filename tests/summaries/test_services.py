"""Each section of the term summary against the hand-made ledger, the narrative, and batch generation."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from caretrack.core.access import Role
from caretrack.core.errors import DomainError
from caretrack.extensions import db
from caretrack.ledger.models import RecordKind
from caretrack.org.services import set_term_dates
from caretrack.summaries import queries, services, tasks
from caretrack.summaries.models import GeneratedSummary
from tests.factories import identify, make_student, make_user, pay

TODAY = date(2026, 2, 10)


def summary_of(ledger, reader=None, term=1):
    return queries.build_summaries([ledger.student], ledger.year, term, reader=reader)[0]


def test_identity_and_identification(ledger):
    summary = summary_of(ledger)
    assert (summary.starts_on, summary.ends_on) == (date(2025, 9, 1), date(2026, 1, 31))
    assert summary.identification.level_enum.zh_name == "特别困难"
    assert [c.zh_name for c in summary.identification.categories] == ["农村低保", "孤儿"]
    assert "*" in summary.student.id_masked


def test_aid_of_the_term_by_named_term_or_by_date(ledger):
    summary = summary_of(ledger)
    assert [(line.project, line.amount) for line in summary.aid] == [
        ("免学杂费", Decimal("600.00")), ("家庭经济困难寄宿生生活补助", Decimal("625.00"))]
    assert summary.aid_total == Decimal("1225.00")
    assert [line.amount for line in summary_of(ledger, term=2).aid] == [Decimal("400.00")]


def test_a_payment_without_a_term_follows_the_schools_own_dates(ledger):
    # The school ends its autumn term on 15 January: a payment of 20 January is no longer in it.
    set_term_dates(None, ledger.city.east_school, ledger.year, 1, date(2025, 9, 1), date(2026, 1, 15))
    pay(ledger.student, "免费教科书", "80.00", paid_on=date(2026, 1, 20))
    summary = summary_of(ledger)
    assert summary.ends_on == date(2026, 1, 15)
    assert "免费教科书" not in [line.project for line in summary.aid]
    assert "免学杂费" in [line.project for line in summary.aid]  # names its term: kept whatever its date


def test_care_work_study_and_contacts(ledger):
    summary = summary_of(ledger)
    assert [line.kind for line in summary.care] == [RecordKind.PSYCH_CARE, RecordKind.TUTORING]
    assert [line.kind for line in summary.contacts] == [RecordKind.TALK, RecordKind.HOME_VISIT]
    assert summary.work_study_hours == Decimal("12.5")
    assert summary.work_study_pay == Decimal("250.00")
    assert summary.record_counts[RecordKind.TALK] == 1  # the talk before the term is not counted


def test_followups_done_and_still_open(ledger):
    summary = summary_of(ledger)
    assert (summary.followups_done, summary.followups_open) == (1, 1)


def test_the_activities_attended_in_the_term_and_no_others(ledger):
    from caretrack.activities import services as activities
    from caretrack.activities.models import Theme
    from caretrack.extensions import db

    honesty = db.session.scalar(select(Theme).where(Theme.name == "诚信教育"))
    organiser = activities.Organiser(unit=ledger.student.school)

    def held(title, day, present):
        activity, _warnings = activities.save_activity(None, activities.ActivityData(
            organiser=organiser, themes=[honesty], title=title, held_on=day), date(2026, 8, 31))
        activities.record_attendance(None, activity, [ledger.student], {ledger.student.id} if present else set())

    held("诚信讲座", date(2025, 11, 10), present=True)
    held("缺席的讲座", date(2025, 12, 1), present=False)
    held("下学期的讲座", date(2026, 3, 10), present=True)
    lines = summary_of(ledger).activities
    assert [(line.title, line.day, line.themes) for line in lines] == [("诚信讲座", date(2025, 11, 10), ["诚信教育"])]
    assert [line.title for line in summary_of(ledger, term=2).activities] == ["下学期的讲座"]


def test_restricted_records_are_counted_not_quoted_for_a_class_teacher(ledger):
    summary = summary_of(ledger, reader=ledger.teacher)
    psych = next(line for line in summary.care if line.kind is RecordKind.PSYCH_CARE)
    assert psych.summary is None
    assert summary.restricted_hidden == 1
    assert summary.record_counts[RecordKind.PSYCH_CARE] == 1
    counselor = make_user(Role.COUNSELOR, ledger.city.class_a)
    psych = next(line for line in summary_of(ledger, reader=counselor).care if line.kind is RecordKind.PSYCH_CARE)
    assert psych.summary == "心理辅导：焦虑情绪"


def test_the_export_shape_counts_and_never_quotes(ledger):
    services.save_narrative(ledger.teacher, ledger.student, ledger.year, 1, "学习认真。", today=TODAY)
    content = services.summary_record(summary_of(ledger))
    assert content["资助"][0] == {"资助项目": "免学杂费", "档次": "", "金额": "600.00", "发放日期": "2025-09-10"}
    assert content["资助合计"] == "1225.00"
    assert content["帮扶记录"] == {"心理关爱": 1, "学业帮扶": 1, "勤工助学": 1, "家访": 1, "谈心谈话": 1}
    assert content["跟进"] == {"已完成": 1, "未完成": 1}
    assert content["评语"] == "学习认真。"
    assert "焦虑" not in str(content)


def test_a_narrative_is_saved_with_optimistic_locking(ledger):
    first = services.save_narrative(ledger.teacher, ledger.student, ledger.year, 1, "第一稿", today=TODAY)
    opened_version = first.version
    services.save_narrative(ledger.teacher, ledger.student, ledger.year, 1, "第二稿", expected_version=opened_version,
                            today=TODAY)
    with pytest.raises(DomainError, match="已被他人修改"):
        services.save_narrative(ledger.teacher, ledger.student, ledger.year, 1, "旧表单",
                                expected_version=opened_version, today=TODAY)
    assert summary_of(ledger).narrative_text == "第二稿"


def test_a_term_that_has_not_started_is_refused(ledger):
    with pytest.raises(DomainError, match="尚未开始"):
        services.save_narrative(ledger.teacher, ledger.student, ledger.year, 2, "太早", today=date(2026, 1, 5))
    with pytest.raises(DomainError, match="尚未开始"):
        tasks.generate_batch(ledger.city.east_school.id, "2025-2026", 2, today=date(2026, 1, 5))


def test_a_batch_of_a_class_equals_the_summaries_made_one_by_one(ledger):
    others = [make_student(ledger.city.class_a, name=f"同学{i}") for i in range(3)]
    for index, other in enumerate(others):
        identify(other, 2025)
        pay(other, "免学杂费", f"{100 * (index + 1)}.00", term=1)
    make_student(ledger.city.class_a, name="未认定")  # nothing in the year: no summary
    reported = []
    made = tasks.generate_batch(ledger.city.east_school.id, "2025-2026", 1, class_id=ledger.city.class_a.id,
                                   progress=lambda done, total: reported.append((done, total)), today=TODAY)
    assert made == 4
    assert reported[-1] == (4, 4)
    stored = {row.student_id: row.content for row in db.session.scalars(select(GeneratedSummary))}
    for student in [ledger.student, *others]:
        one = queries.build_summaries([student], ledger.year, 1)[0]
        assert stored[student.id] == services.summary_record(one)


def test_generating_twice_writes_nothing_new(ledger):
    tasks.generate_batch(ledger.city.east_school.id, "2025-2026", 1, today=TODAY)
    first = db.session.scalars(select(GeneratedSummary)).all()
    stamps = [(row.id, row.generated_at) for row in first]
    tasks.generate_batch(ledger.city.east_school.id, "2025-2026", 1, today=TODAY)
    again = db.session.scalars(select(GeneratedSummary)).all()
    assert [(row.id, row.generated_at) for row in again] == stamps


def test_a_batch_costs_one_query_per_section_whatever_the_class_size(ledger, count_queries):
    def queries_for(n):
        students = [make_student(ledger.city.class_b) for _ in range(n)]
        for student in students:
            identify(student, 2025)
            pay(student, "免学杂费", term=1)
        db.session.flush()
        with count_queries() as counter:
            queries.build_summaries(students, ledger.year, 1)
        return counter.count

    assert queries_for(2) == queries_for(6)
