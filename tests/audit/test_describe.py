"""The audit viewer reads as sentences naming people and students, never raw names, content or ID numbers."""

from datetime import date

import pytest

from caretrack.core.access import Role
from caretrack.ledger.models import RecordKind
from caretrack.students import services as students
from tests.factories import care, make_student, make_user, pay

SECRET = "学生说起家里的矛盾"  # a confidential note: the log must never quote it


def story(city, officer, teacher, counselor, name: str):
    """One student's worth of events of every kind the viewer names."""
    from caretrack.followups import services as followups
    from caretrack.followups.models import FollowUpKind

    student = make_student(city.class_a, name=name)
    care(student, RecordKind.TALK, actor=teacher, happened_on=date(2026, 11, 20))
    care(student, RecordKind.PSYCH_CARE, actor=counselor, summary=SECRET, happened_on=date(2026, 11, 21))
    pay(student, "营养改善计划", "400.00", 2026, voucher=f"V-{name}")
    students.reveal_id_number(officer, student)
    followups.schedule(teacher, followups.FollowUpData(student=student, kind=FollowUpKind.VISIT, assignee=teacher,
                                                       due_on=date(2026, 12, 20)), date(2026, 12, 1))
    students.move_student(officer, student, city.class_b)
    caseload = students.create_caseload(officer, city.east_school, f"{name}的名单")
    students.add_to_caseload(officer, caseload, student)
    return student


@pytest.fixture
def people(city):
    city.officer = make_user(Role.SCHOOL_OFFICER, city.east_school, display_name="周老师")
    city.teacher = make_user(Role.CLASS_TEACHER, city.class_a, display_name="张老师")
    city.counselor = make_user(Role.COUNSELOR, city.east_school, display_name="郑老师")
    return city


def rows_of(response) -> str:
    """The log's table body (the filter form above it lists the actions by their codes)."""
    html = response.get_data(as_text=True)
    return html[html.index("<tbody>"):html.index("</tbody>")]


def test_each_event_reads_as_a_sentence(people, client, login):
    student = story(people, people.officer, people.teacher, people.counselor, "王小明")
    login(people.officer)
    page = rows_of(client.get("/audit/"))
    for sentence in ("张老师 记录了 王小明 的谈心谈话", "郑老师 记录了 王小明 的心理关爱（保密）",
                     "系统 记录了 王小明 的资助发放（营养改善计划）", "周老师 查看了 学生 王小明 的完整身份证号",
                     "周老师 调整了 学生 王小明 的班级（调至 初一(2)班）", "张老师 安排了 王小明 的跟进（家访）",
                     "周老师 把 王小明 加入了 名单 王小明的名单", "周老师 登录了系统"):
        assert sentence in page, sentence
    id_number = students.reveal_id_number(people.officer, student)
    for raw in ("support_records", "psych_care", "restricted", "#None", "student:", "class:", "_id", SECRET,
                id_number, id_number[-4:]):
        assert raw not in page, raw


def test_the_english_log_reads_in_english(people, client, login):
    story(people, people.officer, people.teacher, people.counselor, "王小明")
    login(people.officer)
    client.post("/language", data={"locale": "en"})
    page = rows_of(client.get("/audit/")).replace("&#39;", "'")
    assert "张老师 recorded 王小明's heart-to-heart talk" in page
    assert "郑老师 recorded 王小明's psychological care (confidential)" in page
    assert "周老师 moved student 王小明 to another class (to 初一(2)班)" in page
    assert not any("\u3000" <= character <= "\u303f" or "\uff00" <= character <= "\uffef" for character in page)


def test_the_viewer_runs_the_same_queries_for_one_or_many_students(people, client, login, count_queries):
    login(people.officer)

    def queries() -> int:
        with count_queries() as counter:
            assert client.get("/audit/").status_code == 200
        return counter.count

    story(people, people.officer, people.teacher, people.counselor, "学生一")
    few = queries()
    for number in range(4):
        story(people, people.officer, people.teacher, people.counselor, f"学生{number + 2}")
    assert queries() == few


def test_imports_read_as_imports_of_a_file(people, client, login):
    from caretrack.audit.services import record

    record("students_imported", actor=people.officer, unit_id=people.east_school.id, object_type="units",
           object_id=people.east_school.id, detail="created 30")
    record("disbursement_recorded", actor=people.officer, object_type="disbursements", unit_id=people.east_school.id,
           detail="import created 12")
    login(people.officer)
    page = rows_of(client.get("/audit/"))
    assert "周老师 向 单位 东城区第一中学 导入了学生名单（新增 30 条）" in page
    assert "周老师 导入了 发放记录（新增 12 条）" in page


def test_an_identification_is_named_by_its_year_and_student(people, client, login):
    from caretrack.students.models import Category
    from tests.factories import identify

    identify(make_student(people.class_a, name="李认定"), 2026, Category.ORPHAN)
    login(people.officer)
    rows = rows_of(client.get("/audit/"))
    sentence = next(line for line in rows.splitlines() if "家庭经济困难认定" in line)
    assert "李认定" in sentence
    assert "2026-2027 学年的家庭经济困难认定" in sentence
