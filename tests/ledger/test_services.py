"""The ledger's rules: the catalog, payments, care records, removal."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from caretrack.audit.models import AuditEvent
from caretrack.core.errors import DomainError
from caretrack.extensions import db
from caretrack.ledger import services
from caretrack.ledger.models import AidProject, Disbursement, Grade, RecordKind, Tier
from caretrack.org.models import Stage
from caretrack.org.services import ensure_academic_year
from tests.factories import care, make_student, pay, project, seed_catalog


@pytest.fixture
def uni_student(city):
    return make_student(city.uni_class, stage=Stage.HIGHER)


def payment(student, name="国家助学金", **overrides):
    values = {"student": student, "project": project(name, student.stage), "grade": Grade.FIRST,
              "amount": Decimal("2475.00"), "paid_on": date(2025, 10, 20),
              "academic_year": ensure_academic_year(2025), "term": 1, "voucher": "V1"}
    values.update(overrides)
    return services.DisbursementData(**values)


def test_the_catalog_seeds_the_national_projects_once(app):
    seed_catalog()
    count = db.session.scalar(select(func.count()).select_from(AidProject))
    seed_catalog()
    assert db.session.scalar(select(func.count()).select_from(AidProject)) == count == 22
    grant = project("国家助学金", "higher")
    assert grant.has_grades
    assert {(s.grade, s.amount) for s in grant.standards} == {("1", Decimal("4950")), ("2", Decimal("3700")),
                                                              ("3", Decimal("2450"))}
    subsidy = project("家庭经济困难寄宿生生活补助", "compulsory")
    assert {(s.variant, s.amount) for s in subsidy.standards} == {("小学", Decimal("1250")), ("初中", Decimal("1500"))}
    assert project("国家奖学金", "higher").standards[0].amount == Decimal("10000")


def test_editing_the_catalog_never_rewrites_past_payments(uni_student):
    paid = pay(uni_student, "国家奖学金", "10000.00")
    grant = project("国家奖学金", "higher")
    services.save_project(None, services.ProjectData(
        name="国家奖学金", stage=Stage.HIGHER, has_grades=False, period="annual", valid_from=2019, valid_to=None,
        standards=[(None, None, Decimal("12000"))]), grant)
    db.session.flush()
    assert db.session.get(Disbursement, paid.id).amount == Decimal("10000.00")
    assert grant.standards[0].amount == Decimal("12000")


@pytest.mark.parametrize(("text", "message"), [
    ("-5", "须大于 0"), ("0", "须大于 0"), ("12.345", "最多保留两位小数"), ("abc", "应为数字"), ("1e9", "过大")])
def test_amounts_must_be_positive_with_two_decimals(text, message):
    with pytest.raises(DomainError, match=message):
        services.parse_amount(text)


def test_a_good_payment_is_recorded_and_audited(uni_student):
    disbursement = services.record_disbursement(None, payment(uni_student))
    assert (disbursement.amount, disbursement.school_id, disbursement.grade) == (Decimal("2475.00"),
                                                                               uni_student.school_id, "1")
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "disbursement_recorded")) == 1


def test_a_project_of_another_stage_is_refused(uni_student):
    with pytest.raises(DomainError, match="不是高等教育的资助项目"):
        services.record_disbursement(None, payment(
            uni_student, project=project("家庭经济困难寄宿生生活补助", "compulsory"), grade=None))
    assert db.session.scalar(select(func.count()).select_from(Disbursement)) == 0


def test_grade_is_required_exactly_when_the_project_has_grades(uni_student):
    with pytest.raises(DomainError, match="须填写档次"):
        services.record_disbursement(None, payment(uni_student, grade=None))
    with pytest.raises(DomainError, match="不分档次"):
        services.record_disbursement(None, payment(uni_student, "国家奖学金", grade=Grade.FIRST))


def test_the_date_must_fall_inside_the_academic_year(uni_student):
    with pytest.raises(DomainError, match="不在 2025-2026 学年内"):
        services.record_disbursement(None, payment(uni_student, paid_on=date(2025, 8, 31)))
    services.record_disbursement(None, payment(uni_student, paid_on=date(2026, 8, 31), voucher="V2"))


def test_the_schools_own_term_dates_bound_the_year(city, uni_student):
    from caretrack.org.services import set_term_dates

    set_term_dates(None, city.university, ensure_academic_year(2025), 1, date(2025, 8, 25), date(2026, 1, 20))
    services.record_disbursement(None, payment(uni_student, paid_on=date(2025, 8, 26)))


def test_a_duplicate_voucher_is_refused(uni_student):
    services.record_disbursement(None, payment(uni_student))
    with pytest.raises(DomainError, match="已有凭证号 V1"):
        services.record_disbursement(None, payment(uni_student, term=2, paid_on=date(2026, 3, 20)))


def test_a_project_outside_its_effective_years_is_refused(uni_student):
    grant = project("国家奖学金", "higher")
    grant.valid_to = 2024
    with pytest.raises(DomainError, match="不在资助项目目录中"):
        services.record_disbursement(None, payment(uni_student, "国家奖学金", grade=None))


def test_psychological_care_is_confidential_by_default(city):
    student = make_student(city.class_a)
    assert care(student, RecordKind.PSYCH_CARE).tier == Tier.RESTRICTED
    assert care(student, RecordKind.TALK).tier == Tier.NORMAL
    assert care(student, RecordKind.PSYCH_CARE, tier=Tier.NORMAL).tier == Tier.NORMAL


def test_record_rules(city):
    student = make_student(city.class_a)
    with pytest.raises(DomainError, match="不能晚于今天"):
        care(student, RecordKind.TALK, happened_on=date(2027, 1, 1))
    with pytest.raises(DomainError, match="勤工助学须填写岗位"):
        care(student, RecordKind.WORK_STUDY)
    with pytest.raises(DomainError, match="只用于勤工助学"):
        care(student, RecordKind.TALK, post="图书馆")
    work = care(student, RecordKind.WORK_STUDY, post="图书馆助理", hours=Decimal("12.5"), pay=Decimal("300.00"))
    assert (work.post, work.hours, work.pay) == ("图书馆助理", Decimal("12.5"), Decimal("300.00"))


def test_the_audit_of_a_confidential_record_never_holds_its_content(city):
    student = make_student(city.class_a)
    care(student, RecordKind.PSYCH_CARE, summary="焦虑情绪明显")
    events = db.session.scalars(select(AuditEvent)).all()
    assert all("焦虑" not in f"{e.detail}{e.fields}" for e in events)


def test_removal_needs_a_reason_and_can_be_undone(uni_student):
    disbursement = services.record_disbursement(None, payment(uni_student))
    with pytest.raises(DomainError, match="删除原因"):
        services.remove_entry(None, disbursement, " ")
    services.remove_entry(None, disbursement, "重复录入")
    assert disbursement.is_deleted
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "ledger_entry_removed"))
    assert event.detail == "重复录入"
    services.restore_entry(None, disbursement)
    assert not disbursement.is_deleted


def test_a_stale_edit_is_refused(uni_student):
    disbursement = services.record_disbursement(None, payment(uni_student))
    stale = disbursement.version
    services.update_disbursement(None, disbursement, payment(uni_student, amount=Decimal("2000.00")), stale)
    with pytest.raises(DomainError, match="已被他人修改"):
        services.update_disbursement(None, disbursement, payment(uni_student, amount=Decimal("1.00")), stale)
    assert disbursement.amount == Decimal("2000.00")


def test_attachments_are_checked_by_size_and_real_type(city, tmp_path):
    student = make_student(city.class_a)
    record = care(student, RecordKind.HOME_VISIT)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    attachment = services.add_attachment(None, record, "家访.png", png, tmp_path, max_bytes=1024)
    assert (tmp_path / attachment.stored_name).read_bytes() == png
    assert attachment.content_type == "image/png"
    with pytest.raises(DomainError, match="不能超过"):
        services.add_attachment(None, record, "big.png", png + b"\x00" * 2000, tmp_path, max_bytes=1024)
    with pytest.raises(DomainError, match="只能是 JPG、PNG 照片或 PDF"):
        services.add_attachment(None, record, "photo.jpg", b"MZ\x90\x00" + b"\x00" * 50, tmp_path, max_bytes=1024)
    assert len(record.attachments) == 1
