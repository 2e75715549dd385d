"""Themes, activities, attendance by group, paste and sheet, photos, exemplary students, club proposals."""

from datetime import date
from io import BytesIO

import pytest
from sqlalchemy import func, select

from caretrack.activities import queries, services
from caretrack.activities.importers import AttendanceImporter
from caretrack.activities.models import Attendance, ExemplarStatus, ProposalStatus, Theme
from caretrack.core.errors import DomainError
from caretrack.core.imports import run_import
from caretrack.extensions import db
from tests.activities.conftest import TODAY, make_activity, theme
from tests.factories import make_id_number, make_student

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def present_names(activity):
    return sorted(a.student.name for a in queries.attendance_sheet(activity) if a.is_present)


def test_the_notices_themes_are_seeded_and_the_city_adds_its_own(app):
    names = [t.name for t in db.session.scalars(select(Theme).order_by(Theme.sort_order))]
    assert names[:7] == ["助学·筑梦·铸人", "法治教育", "诚信教育", "励志教育", "感恩教育", "勤俭节约教育",
                         "防信贷诈骗教育"]
    added = services.save_theme(None, "网络安全教育", 2026, None)
    assert added in services.themes_in_force(2026)
    assert added not in services.themes_in_force(2025)
    with pytest.raises(DomainError, match="已有名为“诚信教育”的主题"):
        services.save_theme(None, "诚信教育", 2020, None)
    with pytest.raises(DomainError, match="停用学年不能早于启用学年"):
        services.save_theme(None, "另一个", 2026, 2024)


def test_an_activity_in_a_closed_year_is_saved_with_a_warning(city):
    data = services.ActivityData(organiser=services.organiser_for("unit", city.university),
                                 themes=[theme("诚信教育")], title="诚信讲座", held_on=date(2024, 11, 5))
    activity, warnings = services.save_activity(None, data, TODAY)
    assert activity.id
    assert warnings == ["活动日期在已结束的学年 2024-2025 内，将计入该学年的覆盖情况。"]
    data.held_on = date(2026, 3, 1)
    assert services.save_activity(None, data, TODAY)[1] == []


def test_an_activity_needs_a_title_and_a_theme_in_force(city):
    data = services.ActivityData(organiser=services.organiser_for("unit", city.university), themes=[],
                                 title=" ", held_on=date(2026, 3, 1))
    with pytest.raises(DomainError) as error:
        services.save_activity(None, data, TODAY)
    assert {e.field for e in error.value.errors} == {"title", "theme_ids"}
    late = services.save_theme(None, "新主题", 2026, None)
    data.title, data.themes = "讲座", [late]
    with pytest.raises(DomainError, match="主题“新主题”在该学年不适用"):
        services.save_activity(None, data, TODAY)


def test_a_photo_must_really_be_an_image(city, tmp_path):
    activity = make_activity(city.university)
    photo = services.add_photo(None, activity, "合影.png", PNG, tmp_path, 5 * 1024 * 1024)
    assert photo.content_type == "image/png"
    assert (tmp_path / photo.stored_name).exists()
    with pytest.raises(DomainError, match="照片只能是 JPG 或 PNG 图片"):
        services.add_photo(None, activity, "合影.png", b"%PDF-1.4 not a photo", tmp_path, 5 * 1024 * 1024)
    with pytest.raises(DomainError, match="照片只能是 JPG 或 PNG 图片"):
        services.add_photo(None, activity, "x.jpg", b"MZ\x90\0 an exe", tmp_path, 5 * 1024 * 1024)
    assert len(activity.photos) == 1


def test_attendance_by_class_puts_everyone_on_the_sheet_and_the_unticked_absent(city):
    ann, bob, cat = (make_student(city.uni_class, name=n) for n in ("安安", "宝宝", "彩彩"))
    activity = make_activity(city.university)
    group = queries.Group("class", city.uni_class.id, city.uni_class.name)
    expected = queries.group_students(activity, group)
    assert [s.name for s in expected] == ["安安", "宝宝", "彩彩"]
    counts = services.record_attendance(None, activity, expected, {ann.id, cat.id})
    assert (counts.created, counts.updated) == (3, 0)
    assert present_names(activity) == ["安安", "彩彩"]
    again = services.record_attendance(None, activity, expected, {ann.id, bob.id, cat.id})
    assert (again.created, again.updated, again.unchanged) == (0, 1, 2)
    assert present_names(activity) == ["安安", "宝宝", "彩彩"]


def test_a_club_activity_reaches_its_members_only(city):
    member, other = make_student(city.uni_class, name="社员"), make_student(city.uni_class, name="非社员")
    club = services.create_club(None, city.university, "自强社")
    services.add_member(None, club, member)
    activity = make_activity(club, "防信贷诈骗教育", kind="club")
    assert queries.groups_for(activity, city.university) == [queries.Group("club", club.id, "自强社")]
    assert [s.name for s in queries.group_students(activity, queries.Group("club", club.id, ""))] == ["社员"]
    with pytest.raises(DomainError, match="非社员"):
        services.record_attendance(None, activity, [member, other], {member.id, other.id})
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0


def test_a_pasted_list_finds_students_once_and_names_unknown_numbers_with_their_line(city):
    make_student(city.uni_class, name="安安", student_no="U1")
    make_student(city.uni_class, name="宝宝", student_no="U2")
    activity = make_activity(city.university)
    found = services.students_by_number(activity, "U1\nU2, U1\n\n")
    assert [s.name for s in found] == ["安安", "宝宝"]
    with pytest.raises(DomainError, match="第 2 行 NOPE"):
        services.students_by_number(activity, "U1\nNOPE")


def test_a_school_activity_refuses_another_schools_student_by_name(city):
    stranger = make_student(city.west_class, name="西城学生")
    activity = make_activity(city.east_school, "感恩教育")
    with pytest.raises(DomainError, match="西城学生"):
        services.record_attendance(None, activity, [stranger], {stranger.id})


def sheet(text: str) -> BytesIO:
    return BytesIO(text.encode("utf-8"))


def test_a_sign_in_sheet_imports_once_and_is_idempotent(city):
    make_student(city.uni_class, name="安安", student_no="U1")
    make_student(city.uni_class, name="宝宝", student_no="U2")
    activity = make_activity(city.university)
    text = "学号,姓名,是否到场\nU1,安安,是\nU2,宝宝,否\nU1,安安,\n"
    report = run_import(AttendanceImporter(None, activity), sheet(text), "签到.csv")
    assert report.summary == "created 2, updated 0, unchanged 1, invalid 0"
    assert [w.line for w in report.warnings] == [4]
    assert present_names(activity) == ["安安"]
    again = run_import(AttendanceImporter(None, activity), sheet(text), "签到.csv")
    assert again.summary == "created 0, updated 0, unchanged 3, invalid 0"


def test_a_sheet_with_an_unknown_number_writes_nothing_and_names_the_line(city):
    make_student(city.uni_class, name="安安", student_no="U1")
    stranger = make_student(city.west_class, name="西城学生", student_no="W1")
    activity = make_activity(city.university)
    report = run_import(AttendanceImporter(None, activity), sheet("学号\nU1\nNOPE\n"), "签到.csv")
    assert report.refused
    assert [(e.line, e.column) for e in report.errors] == [(3, "学号")]
    assert "NOPE" in report.errors[0].reason
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0
    district = make_activity(city.east, "感恩教育")
    outside = run_import(AttendanceImporter(None, district), sheet(f"单位代码,学号\n{city.west_school.code},W1\n"),
                         "签到.csv")
    assert outside.refused
    assert "西城学生（W1）不在本活动组织方的范围内" in outside.errors[0].reason
    assert stranger.id not in {a.student_id for a in queries.attendance_sheet(district)}


def test_a_district_sheet_needs_school_codes_and_the_web_sheet_names_its_activity(city):
    make_student(city.class_a, name="东城学生", student_no="E1")
    district = make_activity(city.east, "感恩教育")
    missing = run_import(AttendanceImporter(None, district), sheet("学号\nE1\n"), "签到.csv")
    assert [e.column for e in missing.errors] == ["单位代码"]
    code = city.east_school.code
    web = run_import(AttendanceImporter(None), sheet(f"活动编号,单位代码,学号\n{district.id},{code},E1\n,{code},E1\n"),
                     "签到.csv")
    assert [(e.line, e.column) for e in web.errors] == [(3, "活动编号")]
    assert web.valid == 1


def test_attended_between_returns_each_activity_once_with_its_themes(city):
    ann = make_student(city.uni_class, name="安安")
    both = make_activity(city.university, "诚信教育", "防信贷诈骗教育", title="两个主题", held_on=date(2026, 3, 10))
    early = make_activity(city.university, "法治教育", title="早", held_on=date(2025, 10, 1))
    for activity in (both, early):
        services.record_attendance(None, activity, [ann], {ann.id})
    assert queries.attended_between([ann.id], date(2026, 2, 1), date(2026, 8, 31)) == [
        (ann.id, both.id, "诚信教育、防信贷诈骗教育", "两个主题", date(2026, 3, 10))]
    assert len(queries.attended_between([ann.id], date(2025, 9, 1), date(2026, 8, 31))) == 2
    assert queries.attended_between([], date(2025, 9, 1), date(2026, 8, 31)) == []


def test_a_proposed_member_joins_when_the_officer_approves(city):
    ann = make_student(city.uni_class, name="安安")
    club = services.create_club(None, city.university, "自强社")
    proposal = services.propose_member(None, club, ann)
    assert club.members == []
    with pytest.raises(DomainError, match="已在待审核名单中"):
        services.propose_member(None, club, ann)
    services.decide_proposal(None, proposal, approve=True)
    assert proposal.status == ProposalStatus.APPROVED
    assert club.members == [ann]
    with pytest.raises(DomainError, match="已经审核过了"):
        services.decide_proposal(None, proposal, approve=False)


def test_an_exemplar_is_published_only_approved_and_with_consent(city):
    minor = make_student(city.uni_class, name="小明", id_number=make_id_number(birth="20100501"))
    exemplar = services.nominate(None, minor, "自强不息，成绩优异。")
    with pytest.raises(DomainError, match="须先经学校资助中心审定"):
        services.publish_exemplar(None, exemplar)
    services.approve_exemplar(None, exemplar)
    assert exemplar.status == ExemplarStatus.APPROVED
    with pytest.raises(DomainError, match="须记录本人"):
        services.publish_exemplar(None, exemplar)
    with pytest.raises(DomainError, match="须由监护人同意"):
        services.record_consent(None, exemplar, TODAY)
    services.record_consent(None, exemplar, TODAY, guardian_name="王芳")
    services.publish_exemplar(None, exemplar)
    assert exemplar.is_published
    assert exemplar.consent_by == "王芳"
    talk = services.add_talk(None, exemplar, TODAY, "东城区第一中学")
    assert exemplar.talks == [talk]


def test_an_adult_consents_for_themselves(city):
    adult = make_student(city.uni_class, name="大明", id_number=make_id_number(birth="20000301"))
    exemplar = services.nominate(None, adult, "勤工助学，回报社会。")
    services.approve_exemplar(None, exemplar)
    services.record_consent(None, exemplar, TODAY)
    services.publish_exemplar(None, exemplar)
    assert exemplar.consent_by is None
    assert exemplar.is_published
