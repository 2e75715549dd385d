"""Follow-ups: scheduling, closing by the record that did it, next steps, cancelling."""

from datetime import date

import pytest
from sqlalchemy import select

from caretrack.core.access import Role
from caretrack.core.errors import DomainError
from caretrack.extensions import db
from caretrack.followups import services
from caretrack.followups.models import FollowUp, FollowUpKind
from caretrack.ledger.models import RecordKind
from tests.factories import care, make_student, make_user

TODAY = date(2026, 11, 28)


@pytest.fixture
def teacher(city):
    return make_user(Role.CLASS_TEACHER, city.class_a)


def plan(student, assignee, kind=FollowUpKind.VISIT, due_on=date(2026, 11, 29), **options):
    return services.schedule(assignee, services.FollowUpData(student=student, kind=kind, assignee=assignee,
                                                             due_on=due_on), TODAY, **options)


def test_a_follow_up_is_scheduled_open(city, teacher):
    followup = plan(make_student(city.class_a), teacher)
    assert (followup.status, followup.assignee_id, followup.school_id) == ("open", teacher.id, city.east_school.id)


def test_a_past_due_date_needs_confirmation(city, teacher):
    student = make_student(city.class_a)
    with pytest.raises(services.PastDueDate, match="已经过去"):
        plan(student, teacher, due_on=date(2026, 11, 1))
    assert db.session.scalar(select(FollowUp)) is None
    assert plan(student, teacher, due_on=date(2026, 11, 1), confirm_past=True).due_on == date(2026, 11, 1)


def test_a_record_closes_the_follow_ups_ticked_on_it_and_no_other(city, teacher):
    student = make_student(city.class_a)
    later = plan(student, teacher, due_on=date(2026, 12, 10))
    first = plan(student, teacher, due_on=date(2026, 11, 30))
    call = plan(student, teacher, kind=FollowUpKind.CALL)
    visit = care(student, RecordKind.HOME_VISIT, happened_on=date(2026, 11, 27), actor=teacher,
                 closes=(first.id, call.id))
    assert (first.status, first.closed_record_id, first.closed_on) == ("done", visit.id, date(2026, 11, 27))
    assert (call.status, call.closed_record_id) == ("done", visit.id)
    assert later.status == "open"


def test_a_record_ticked_for_nothing_closes_nothing_even_of_its_kind_that_day(city, teacher):
    student = make_student(city.class_a)
    talk = plan(student, teacher, kind=FollowUpKind.TALK, due_on=TODAY)
    care(student, RecordKind.PSYCH_CARE, happened_on=TODAY, actor=make_user(Role.COUNSELOR, city.class_a))
    assert talk.status == "open"


def test_a_record_cannot_close_a_follow_up_of_another_student_or_one_already_done(city, teacher):
    followup = plan(make_student(city.class_a), teacher)
    other = make_student(city.class_a)
    with pytest.raises(DomainError, match="不是同一名学生"):
        care(other, RecordKind.HOME_VISIT, actor=teacher, closes=(followup.id,))
    care(followup.student, RecordKind.HOME_VISIT, actor=teacher, closes=(followup.id,))
    with pytest.raises(DomainError, match="状态已是“已完成”"):
        care(followup.student, RecordKind.HOME_VISIT, actor=teacher, closes=(followup.id,))
    with pytest.raises(DomainError, match="已不存在"):
        care(followup.student, RecordKind.HOME_VISIT, actor=teacher, closes=(followup.id + 1000,))


def test_a_call_is_a_kind_of_record_and_closes_a_call(city):
    assert RecordKind.CALL.label == "电话联系"
    assert FollowUpKind.CALL.closing_record_kinds == (RecordKind.CALL,)
    assert FollowUpKind.for_record(RecordKind.CALL) is FollowUpKind.CALL


def test_a_next_step_with_a_date_becomes_a_follow_up(city, teacher):
    student = make_student(city.class_a)
    care(student, RecordKind.HOME_VISIT, actor=teacher, next_step="下月再家访一次", next_step_due=date(2026, 12, 20))
    followup = db.session.scalar(select(FollowUp).where(FollowUp.student_id == student.id))
    assert (followup.kind, followup.due_on, followup.note, followup.source, followup.assignee_id) == (
        "visit", date(2026, 12, 20), "下月再家访一次", "next_step", teacher.id)


def test_cancel_needs_a_reason_and_only_once(city, teacher):
    followup = plan(make_student(city.class_a), teacher)
    with pytest.raises(DomainError, match="取消原因"):
        services.cancel(teacher, followup, " ")
    services.cancel(teacher, followup, "学生已转学")
    assert followup.status == "cancelled"
    with pytest.raises(DomainError, match="状态已是“已取消”"):
        services.cancel(teacher, followup, "again")


def test_a_deactivated_assignee_is_refused(city, teacher):
    from caretrack.accounts.services import set_active

    set_active(None, teacher, False)
    with pytest.raises(DomainError, match="已停用"):
        plan(make_student(city.class_a), teacher)


def test_a_follow_up_from_a_confidential_record_is_confidential_and_follows_its_tier(city, teacher):
    from caretrack.ledger import services as ledger
    from caretrack.ledger.models import Tier

    student = make_student(city.class_a)
    counselor = make_user(Role.COUNSELOR, city.class_a)
    psych = care(student, RecordKind.PSYCH_CARE, actor=counselor, next_step="约家长面谈",
                 next_step_due=date(2026, 12, 2))
    talk = care(student, RecordKind.TALK, actor=teacher, next_step="下周再谈", next_step_due=date(2026, 12, 3))
    derived = {f.source_record_id: f for f in db.session.scalars(select(FollowUp).where(
        FollowUp.student_id == student.id))}
    assert (derived[psych.id].tier, derived[talk.id].tier) == ("restricted", "normal")
    assert derived[psych.id].shareable_label == "保密跟进"
    assert derived[talk.id].shareable_label == "谈心谈话"

    data = ledger.RecordData(student=student, kind=RecordKind.TALK, happened_on=talk.happened_on,
                             summary=talk.summary, next_step=talk.next_step, next_step_due=talk.next_step_due,
                             tier=Tier.RESTRICTED)
    ledger.update_record(teacher, talk, data, TODAY)
    assert derived[talk.id].tier == "restricted"


def test_a_follow_up_cannot_go_to_someone_who_may_not_see_the_student(city, teacher):
    student = make_student(city.class_a)
    other_class = make_user(Role.CLASS_TEACHER, city.class_b)
    with pytest.raises(DomainError, match="看不到这名学生"):
        services.schedule(teacher, services.FollowUpData(student=student, kind=FollowUpKind.VISIT,
                                                         assignee=other_class, due_on=date(2026, 12, 1)), TODAY)
    assert db.session.scalar(select(FollowUp)) is None
