"""Round trips of the activity pages.

A club leader records an activity and its attendance and sees nothing of aid; paste and sheet import; photos;
coverage with its list of the unreached; exemplars; query counts.
"""

import itertools
from datetime import date, timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from caretrack.accounts import services as accounts
from caretrack.activities import services
from caretrack.activities.models import Activity, Attendance
from caretrack.core.access import Role, ScopeType
from caretrack.extensions import db
from caretrack.ledger.models import RecordKind
from caretrack.notify.models import Notification
from caretrack.org.services import ensure_academic_year, get_or_create_class
from caretrack.students.models import Category
from tests.activities.conftest import make_activity, theme
from tests.factories import care, identify, make_id_number, make_student, make_user, pay, seed_catalog

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
_births = itertools.count(1)


def new_student(school_class, **fields):
    """A student with an ID number no other test student has (a birth date of its own)."""
    day = date(2006, 1, 1) + timedelta(days=next(_births))
    return make_student(school_class, id_number=make_id_number(birth=f"{day:%Y%m%d}"), **fields)


@pytest.fixture
def club(city):
    """A university club of three members, each identified and aided, with a confidential care record."""
    seed_catalog()
    city.club = services.create_club(None, city.university, "自强社")
    city.members = [make_student(city.uni_class, name=n, student_no=f"U{i}") for i, n in enumerate("甲乙丙", 1)]
    for member in city.members:
        services.add_member(None, city.club, member)
        identify(member, 2025, Category.ORPHAN)
        pay(member, "国家励志奖学金", "1234.56")
        care(member, RecordKind.PSYCH_CARE, summary="秘密的心理谈话")
    city.leader = make_user()
    accounts.grant_role(None, city.leader, Role.CLUB_LEADER, ScopeType.CLUB, city.club)
    return city


def text_of(response) -> str:
    if response.mimetype.endswith("spreadsheetml.sheet"):
        workbook = load_workbook(BytesIO(response.data))
        return " ".join(str(c.value) for sheet in workbook for row in sheet.iter_rows() for c in row if c.value)
    return response.get_data(as_text=True)


def assert_no_aid_or_identity(text: str, students) -> None:
    secrets = ("1234.56", "孤儿", "秘密的心理谈话", "国家励志奖学金", "心理关爱", "困难等级")
    for forbidden in (*secrets, *(s.id_masked for s in students)):
        assert forbidden not in text, forbidden


def test_a_club_leader_records_an_activity_and_ticks_the_present(club, login, client):
    login(club.leader)
    form = client.get("/activities/new").get_data(as_text=True)
    assert f'value="club:{club.club.id}"' in form
    assert "unit:" not in form  # a leader organises for the club only
    response = client.post("/activities/new", data={
        "organiser": f"club:{club.club.id}", "theme_ids": [theme("防信贷诈骗教育").id], "title": "防范校园贷讲座",
        "held_on": "2026-03-10", "place": "图书馆报告厅"})
    assert response.status_code == 302
    activity = db.session.scalar(select(Activity).where(Activity.title == "防范校园贷讲座"))
    page = client.get(f"/activities/{activity.id}/attendance").get_data(as_text=True)
    assert page.count('name="present"') == 3
    assert page.count(" checked") == 3  # everyone ticked by default
    absent = club.members[2]
    response = client.post(f"/activities/{activity.id}/attendance", data={
        "group": f"club:{club.club.id}", "present": [m.id for m in club.members[:2]]}, follow_redirects=True)
    assert "到场 2 人，缺席 1 人" in response.get_data(as_text=True)
    rows = {a.student_id: a.is_present for a in db.session.scalars(select(Attendance))}
    assert rows == {club.members[0].id: True, club.members[1].id: True, absent.id: False}


def test_a_club_leader_sees_no_aid_care_category_or_id_anywhere(club, login, client):
    activity = make_activity(club.club, "诚信教育", kind="club")
    services.record_attendance(None, activity, club.members, {m.id for m in club.members})
    login(club.leader)
    for path in ("/activities/", "/activities/export.xlsx", f"/activities/{activity.id}",
                 f"/activities/{activity.id}/attendance", f"/activities/{activity.id}/sheet.xlsx",
                 f"/activities/clubs/{club.club.id}", "/activities/clubs/", "/activities/themes", "/", "/inbox/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_no_aid_or_identity(text_of(response), club.members)
    for member in club.members:
        assert client.get(f"/students/{member.id}").status_code == 403
    for path in ("/students/", "/activities/coverage", f"/activities/coverage/units/{club.university.id}",
                 "/activities/exemplars", "/ledger/disbursements", "/ledger/caseload"):
        assert client.get(path).status_code == 403, path


def test_outside_the_scope_is_404_and_without_the_role_403(club, login, client, client_for):
    other_club = services.create_club(None, club.university, "另一个自强社")
    activity = make_activity(other_club, "诚信教育", kind="club")
    login(club.leader)
    assert client.get(f"/activities/{activity.id}").status_code == 404
    assert client.get(f"/activities/{activity.id}/sheet.xlsx").status_code == 404
    assert client.post(f"/activities/{activity.id}/attendance/paste", data={"student_nos": "U1"}).status_code == 404
    teacher = client_for(make_user(Role.CLASS_TEACHER, club.uni_class))
    assert teacher.get("/activities/").status_code == 403
    inspector = client_for(make_user(Role.INSPECTOR, club.university))
    assert inspector.get(f"/activities/{activity.id}").status_code == 200
    assert inspector.get(f"/activities/{activity.id}/attendance").status_code == 403


def test_paste_names_unknown_numbers_and_records_nothing(club, login, client):
    activity = make_activity(club.university, "诚信教育")
    login(make_user(Role.SCHOOL_OFFICER, club.university))
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "每行一个学号，也可用空格或逗号隔开" in page  # a school's activity needs no school codes
    response = client.post(f"/activities/{activity.id}/attendance/paste", data={"student_nos": "U1\nU9"})
    assert response.status_code == 400
    assert "第 2 行 U9" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0
    response = client.post(f"/activities/{activity.id}/attendance/paste", data={"student_nos": "U1 U2\nU1"},
                           follow_redirects=True)
    assert "已记录 2 名学生到场" in response.get_data(as_text=True)


def test_a_district_activity_refuses_a_student_outside_it_by_name(city, login, client):
    make_student(city.west_class, name="西城学生", student_no="W1")
    activity = make_activity(city.east, "感恩教育")
    login(make_user(Role.DISTRICT_OFFICER, city.east))
    response = client.post(f"/activities/{activity.id}/attendance/paste",
                           data={"student_nos": f"{city.west_school.code} W1"})
    assert response.status_code == 400
    assert "西城学生（W1）" in response.get_data(as_text=True)


def test_a_photo_that_is_not_an_image_is_refused(club, login, client, client_for):
    activity = make_activity(club.university, "诚信教育")
    login(make_user(Role.SCHOOL_OFFICER, club.university))
    bad = client.post(f"/activities/{activity.id}/photos", data={"photo": (BytesIO(b"%PDF-1.4"), "合影.jpg")},
                      content_type="multipart/form-data", follow_redirects=True)
    assert "照片只能是 JPG 或 PNG 图片" in bad.get_data(as_text=True)
    client.post(f"/activities/{activity.id}/photos", data={"photo": (BytesIO(PNG), "合影.png")},
                content_type="multipart/form-data")
    photo = activity.photos[0]
    assert client.get(f"/activities/photos/{photo.id}").data == PNG
    assert client_for(club.leader).get(f"/activities/photos/{photo.id}").status_code == 404


def test_a_sign_in_sheet_is_previewed_then_imported(club, login, client):
    activity = make_activity(club.club, "防信贷诈骗教育", kind="club")
    login(club.leader)
    sheet = f"活动编号,学号\n{activity.id},U1\n{activity.id},U2\n{activity.id},U1\n".encode()
    preview = client.post("/activities/import", data={"file": (BytesIO(sheet), "签到.csv")},
                          content_type="multipart/form-data", follow_redirects=True)
    assert "与第 2 行是同一名学生，只记一次" in preview.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0
    job_id = int(preview.request.path.rsplit("/", 1)[1])
    client.post(f"/activities/import/jobs/{job_id}/confirm", follow_redirects=True)
    assert {a.student_id for a in db.session.scalars(select(Attendance))} == {m.id for m in club.members[:2]}
    stranger = make_student(club.uni_class, name="非社员", student_no="U9")
    refused = client.post("/activities/import", data={"file": (BytesIO(f"活动编号,学号\n{activity.id},U9\n".encode()),
                                                               "签到.csv")},
                          content_type="multipart/form-data", follow_redirects=True)
    assert "非社员（U9）不在本活动组织方的范围内" in refused.get_data(as_text=True)
    assert stranger.id not in {a.student_id for a in db.session.scalars(select(Attendance))}


def upload_sheet(client, path, text):
    return client.post(path, data={"file": (BytesIO(text.encode()), "签到.csv")},
                       content_type="multipart/form-data", follow_redirects=True)


def test_on_an_activity_s_page_the_sheet_needs_only_student_numbers(club, login, client):
    activity = make_activity(club.club, "防信贷诈骗教育", kind="club")
    login(club.leader)
    assert f"/activities/import?activity={activity.id}" in client.get(f"/activities/{activity.id}").get_data(
        as_text=True)
    form = client.get(f"/activities/import?activity={activity.id}").get_data(as_text=True)
    assert "列：学号；" in form
    assert "活动编号" not in form.split('id="columns-help"')[1].split("</p>")[0]
    make_student(club.uni_class, name="非社员", student_no="U9")
    path = f"/activities/import?activity={activity.id}"
    preview = upload_sheet(client, path, "学号\nU1\nU2\nU404\nU9\n")
    html = preview.get_data(as_text=True)
    assert "没有学号为“U404”的学生" in html  # every bad row named, with its line
    assert "非社员（U9）不在本活动组织方的范围内" in html
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0  # nothing written yet
    job_id = int(preview.request.path.rsplit("/", 1)[1])
    client.post(f"/activities/import/jobs/{job_id}/confirm", follow_redirects=True)  # the valid rows only
    assert {a.student_id for a in db.session.scalars(select(Attendance))} == {m.id for m in club.members[:2]}
    again = upload_sheet(client, path, "学号\nU1\nU2\n").get_data(as_text=True)
    assert "无误的行与系统中已有的数据相同" in again  # idempotent: the same sheet changes nothing
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 2


def test_an_activity_s_sheet_import_of_someone_else_s_activity_is_not_found(club, city, login, client):
    activity = make_activity(city.east_school, "感恩教育")
    login(club.leader)
    assert client.get(f"/activities/import?activity={activity.id}").status_code == 404
    assert client.get("/activities/import?activity=abc").status_code == 404


def test_the_attendance_shows_on_each_attendees_timeline(club, login, client):
    activity = make_activity(club.club, "防信贷诈骗教育", kind="club", title="防范校园贷讲座")
    services.record_attendance(None, activity, club.members, {club.members[0].id})
    login(make_user(Role.SCHOOL_OFFICER, club.university))
    assert "防范校园贷讲座" in client.get(f"/students/{club.members[0].id}").get_data(as_text=True)
    assert "防范校园贷讲座" not in client.get(f"/students/{club.members[1].id}").get_data(as_text=True)


def test_an_attendee_s_removed_entries_page_leaves_the_activities_out(club, login, client):
    # The removed-entries page filters the timeline on removal; an activity on it is never removed (a 500 once).
    activity = make_activity(club.club, "诚信教育", kind="club", title="诚信讲座")
    services.record_attendance(None, activity, club.members, {club.members[0].id})
    login(make_user(Role.SCHOOL_OFFICER, club.university))
    page = client.get(f"/ledger/students/{club.members[0].id}/removed")
    assert page.status_code == 200
    assert "诚信讲座" not in page.get_data(as_text=True)


def test_the_coverage_page_counts_and_lists_the_unreached_to_those_who_may_see_them(club, login, client,
                                                                                   client_for):
    year = ensure_academic_year(2025)
    other_class = get_or_create_class(None, club.university, "英语2401", club.other_college)
    outsider = make_student(other_class, name="外院学生")
    identify(outsider, 2025)
    activity = make_activity(club.club, "防信贷诈骗教育", kind="club")
    services.record_attendance(None, activity, club.members, {m.id for m in club.members})
    login(make_user(Role.SCHOOL_OFFICER, club.university))
    page = client.get(f"/activities/coverage/units/{club.university.id}?year={year.start_year}")
    text = page.get_data(as_text=True)
    assert "<strong>3</strong> / 4" in text  # 防信贷诈骗教育: the three members of four identified
    assert "外院学生" in text
    counselor = client_for(make_user(Role.COUNSELOR, club.college))
    text = counselor.get(f"/activities/coverage/colleges/{club.college.id}?year=2025").get_data(as_text=True)
    assert "<strong>3</strong> / 3" in text
    assert "外院学生" not in text
    # the college's school is outside a college counselor's unit scope
    assert counselor.get(f"/activities/coverage/units/{club.university.id}?year=2025").status_code == 404


def test_the_officer_invites_the_unreached_once(club, login, client, client_for):
    ensure_academic_year(2025)
    teacher = make_user(Role.CLASS_TEACHER, club.uni_class)
    officer = make_user(Role.SCHOOL_OFFICER, club.university)
    login(officer)
    goal_id = services.goals_in_force(2025)[0].id
    for _attempt in range(2):
        response = client.post(f"/activities/coverage/units/{club.university.id}/invite",
                               data={"goal": goal_id, "year": 2025}, follow_redirects=True)
        assert "已通知 3 名学生的班主任或辅导员" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.user_id == teacher.id)) == 3
    assert client_for(club.leader).post(f"/activities/coverage/units/{club.university.id}/invite",
                                        data={"goal": goal_id, "year": 2025}).status_code == 403


def test_publishing_needs_consent_and_the_story_shows_no_aid(club, login, client, client_for):
    officer = make_user(Role.SCHOOL_OFFICER, club.university)
    login(officer)
    response = client.post("/activities/exemplars", data={"school_id": club.university.id, "student_no": "U1",
                                                          "story": "自强不息，热心公益。"})
    exemplar_path = response.headers["Location"]
    client.post(f"{exemplar_path}/approve")
    refused = client.post(f"{exemplar_path}/publish", follow_redirects=True)
    assert "须记录本人（未成年人为监护人）的同意" in refused.get_data(as_text=True)
    client.post(f"{exemplar_path}/consent", data={"consent_on": "2026-03-01", "guardian_name": "甲的妈妈"})
    client.post(f"{exemplar_path}/publish")
    published = client_for(club.leader).get("/activities/exemplars/published").get_data(as_text=True)
    assert "自强不息，热心公益。" in published
    assert_no_aid_or_identity(published, club.members)


def test_the_attendance_page_costs_the_same_queries_for_a_small_or_large_class(city, login, client, count_queries):
    officer = make_user(Role.SCHOOL_OFFICER, city.university)
    login(officer)

    def page_queries(size: int, name: str) -> int:
        school_class = get_or_create_class(None, city.university, name, city.college)
        students = [new_student(school_class) for _ in range(size)]
        activity = make_activity(city.university, "诚信教育")
        services.record_attendance(None, activity, students, {s.id for s in students[::2]})
        with count_queries() as counter:
            response = client.get(f"/activities/{activity.id}/attendance?group=class:{school_class.id}")
            sheet = client.get(f"/activities/{activity.id}")
        assert response.status_code == 200
        assert sheet.status_code == 200
        return counter.count

    assert page_queries(2, "小班") == page_queries(12, "大班")


def test_the_coverage_page_costs_the_same_queries_for_small_or_large_schools(city, login, client, count_queries):
    year = ensure_academic_year(2025)
    login(make_user(Role.DISTRICT_OFFICER, city.east))
    from caretrack.org.models import UnitKind
    from tests.factories import make_unit

    def page_queries(schools: int, students: int, code: int) -> int:
        for n in range(schools):
            school = make_unit(f"21990{code}{n:03d}", f"学校{code}-{n}", UnitKind.SCHOOL, city.east)
            school_class = get_or_create_class(None, school, "一班")
            kids = [new_student(school_class) for _ in range(students)]
            for kid in kids:
                identify(kid, 2025)
            services.record_attendance(None, make_activity(city.east, "感恩教育", held_on=date(2025, 10, 1)),
                                       kids[:1], {kids[0].id})
        with count_queries() as counter:
            response = client.get(f"/activities/coverage/units/{city.east.id}?year={year.start_year}")
        assert response.status_code == 200
        return counter.count

    assert page_queries(1, 2, 11) == page_queries(4, 6, 22)
