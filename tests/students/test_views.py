"""Student pages: what each role sees, searching, the file, the ID reveal, the download, the web import."""

import io
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from caretrack.audit.models import AuditEvent
from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.students.models import Category, Student
from tests.factories import FULL_WIDTH, identify, make_id_number, make_student, make_user

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"


@pytest.fixture
def school(city):
    """Two classes of one school with a student each, and a student of another school."""
    city.ann = make_student(city.class_a, name="安安", student_no="A001", id_number=make_id_number(gender="f"))
    city.bob = make_student(city.class_b, name="宝宝", student_no="B001")
    city.wes = make_student(city.west_class, name="西西", student_no="W001")
    identify(city.ann, 2025, Category.ORPHAN)
    return city


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_the_list_shows_masked_id_numbers_only(school, login):
    client = login(make_user(Role.SCHOOL_OFFICER, school.east_school))
    html = page(client, "/students/?year=2025")
    assert school.ann.id_masked in html
    number = make_id_number  # the full number never appears
    assert all(s.id_masked[:6] + "*" in html for s in (school.ann, school.bob))
    assert "西西" not in html
    del number


def test_a_class_teacher_sees_only_their_class_in_the_list_and_search(school, login):
    client = login(make_user(Role.CLASS_TEACHER, school.class_a))
    assert "安安" in page(client, "/students/")
    assert "宝宝" not in page(client, "/students/")
    assert "宝宝" not in page(client, "/students/?q=宝")
    assert "没有符合条件的学生" in page(client, "/students/?q=B001")


def test_a_class_teacher_gets_404_for_a_file_of_another_class(school, login):
    client = login(make_user(Role.CLASS_TEACHER, school.class_a))
    assert client.get(f"/students/{school.ann.id}").status_code == 200
    assert client.get(f"/students/{school.bob.id}").status_code == 404


def test_search_by_full_id_number_uses_the_blind_index(school, login):
    from caretrack.core import crypto

    client = login(make_user(Role.SCHOOL_OFFICER, school.east_school))
    number = crypto.decrypt(school.bob.id_cipher)
    response = client.post("/students/", data={"q": number, "year": "2025"})
    assert response.status_code == 302
    assert number not in response.headers["Location"]
    html = page(client, response.headers["Location"])
    assert "宝宝" in html
    assert "安安" not in html
    assert number not in html


def test_search_by_a_full_width_or_invisibly_spaced_id_number_finds_the_student(school, login):
    from caretrack.core import crypto

    client = login(make_user(Role.SCHOOL_OFFICER, school.east_school))
    number = crypto.decrypt(school.bob.id_cipher)
    for typed in (number.translate(FULL_WIDTH), f"\u200b{number[:6]} {number[6:]}\u200b"):
        response = client.post("/students/", data={"q": typed, "year": "2025"})
        html = page(client, response.headers["Location"])
        assert "宝宝" in html
        assert "安安" not in html


def test_registering_a_number_known_in_another_school_names_neither_the_school_nor_the_student(school, login):
    from caretrack.core import crypto

    client = login(make_user(Role.SCHOOL_OFFICER, school.east_school))
    form = {"class_id": school.class_b.id, "student_no": "N3", "name": "新生", "gender": "", "stage": "compulsory",
            "hukou": "", "id_number": "\u200b" + crypto.decrypt(school.wes.id_cipher).translate(FULL_WIDTH)}
    response = client.post(f"/students/new?school={school.east_school.id}", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code in (200, 400)
    assert "该身份证号已在其他学校登记" in html
    assert "区或市学生资助管理中心" in html
    assert "西城区民族中学" not in html
    assert "W001" not in html
    assert db.session.scalar(select(func.count()).select_from(Student).where(Student.student_no == "N3")) == 0


def test_filters_by_identification(school, login):
    client = login(make_user(Role.SCHOOL_OFFICER, school.east_school))
    identified = page(client, "/students/?year=2025&identified=yes")
    assert "安安" in identified
    assert "宝宝" not in identified
    assert "宝宝" in page(client, "/students/?year=2025&identified=no")
    assert "安安" in page(client, "/students/?year=2025&category=orphan")
    assert "安安" not in page(client, "/students/?year=2025&category=registered")


def test_the_file_page_shows_identity_and_identification_history(school, login):
    identify(school.ann, 2024, Category.DISABLED)
    client = login(make_user(Role.COUNSELOR, school.east_school))
    html = page(client, f"/students/{school.ann.id}")
    assert "安安" in html
    assert school.ann.id_masked in html
    assert "2024-2025" in html
    assert "2025-2026" in html
    assert "查看完整号码" not in html  # counselors do not reveal ID numbers


def test_reveal_shows_the_number_and_audits_it(school, login):
    from caretrack.core import crypto

    officer = make_user(Role.SCHOOL_OFFICER, school.east_school)
    client = login(officer)
    response = client.post(f"/students/{school.ann.id}/reveal")
    assert response.status_code == 200
    assert crypto.decrypt(school.ann.id_cipher) in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).where(
        AuditEvent.action == "id_number_revealed", AuditEvent.user_id == officer.id)) == 1


def test_reveal_is_refused_to_a_club_leader_and_a_class_teacher(school, login, client):
    from caretrack.accounts import services as accounts
    from caretrack.accounts.models import RoleAssignment

    leader = make_user()
    leader.role_assignments.append(RoleAssignment(role=Role.CLUB_LEADER, scope_type="club", scope_id=1))
    db.session.flush()
    assert login(leader).post(f"/students/{school.ann.id}/reveal").status_code == 403
    client.post("/logout")
    teacher = make_user(Role.CLASS_TEACHER, school.class_a)
    assert login(teacher).post(f"/students/{school.ann.id}/reveal").status_code == 403
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "id_number_revealed")) == 0
    del accounts


def test_an_officer_of_another_school_gets_404_on_reveal(school, login):
    client = login(make_user(Role.SCHOOL_OFFICER, school.west_school))
    assert client.post(f"/students/{school.ann.id}/reveal").status_code == 404


def read_xlsx(response) -> list[tuple]:
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    return list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))


def test_the_download_holds_what_the_filter_shows_with_masked_ids(school, login):
    client = login(make_user(Role.CLASS_TEACHER, school.class_a))
    rows = read_xlsx(client.get("/students/export.xlsx?year=2025"))
    assert rows[0][:5] == ("学校", "学院（系）", "班级", "学号", "姓名")
    assert [r[4] for r in rows[1:]] == ["安安"]
    assert rows[1][6] == school.ann.id_masked
    assert rows[1][12] == "孤儿"


def test_full_ids_in_the_download_only_for_those_who_may_reveal(school, login, client):
    from caretrack.core import crypto

    login(make_user(Role.CLASS_TEACHER, school.class_a))
    rows = read_xlsx(client.get("/students/export.xlsx?full_ids=1"))
    assert rows[1][6] == school.ann.id_masked
    client.post("/logout")
    login(make_user(Role.SCHOOL_OFFICER, school.east_school))
    rows = read_xlsx(client.get("/students/export.xlsx?full_ids=1"))
    numbers = {r[6] for r in rows[1:]}
    assert crypto.decrypt(school.ann.id_cipher) in numbers
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "students_exported")
                              .order_by(AuditEvent.id.desc()))
    assert event.detail == "rows=2 full_ids=True"


def test_the_list_and_file_pages_do_not_issue_a_query_per_row(city, login, count_queries):
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))

    def queries_for(path):
        with count_queries() as counter:
            page(client, path)
        return counter.count

    for index in range(3):
        identify(make_student(city.class_a, student_no=f"Q{index}"), 2025, Category.OTHER)
    few_list = queries_for("/students/?year=2025")
    student = db.session.scalar(select(Student).where(Student.student_no == "Q0"))
    few_file = queries_for(f"/students/{student.id}")
    for index in range(3, 30):
        identify(make_student(city.class_b if index % 2 else city.class_a, student_no=f"Q{index}"),
                 2025, Category.ORPHAN, Category.OTHER)
    for year in (2022, 2023, 2024):
        identify(student, year, Category.OTHER)
    assert queries_for("/students/?year=2025") == few_list
    assert queries_for(f"/students/{student.id}") == few_file


def test_editing_with_a_stale_version_keeps_what_was_typed(school, login):
    client = login(make_user(Role.SCHOOL_OFFICER, school.east_school))
    form = {"class_id": school.class_a.id, "student_no": "A001", "name": "安安改名", "id_number": "",
            "gender": "", "stage": "compulsory", "hukou": "", "version": "0"}
    response = client.post(f"/students/{school.ann.id}/edit", data=form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "已被他人修改" in html
    assert 'value="安安改名"' in html
    assert db.session.get(Student, school.ann.id).name == "安安"


def test_creating_a_student_with_a_bad_id_number_writes_nothing(school, login):
    client = login(make_user(Role.SCHOOL_OFFICER, school.east_school))
    form = {"class_id": school.class_a.id, "student_no": "N1", "name": "新生", "id_number": "110105194912310021",
            "gender": "", "stage": "compulsory", "hukou": ""}
    response = client.post(f"/students/new?school={school.east_school.id}", data=form)
    assert response.status_code == 400
    assert "身份证号校验位不正确" in response.get_data(as_text=True)
    assert "110105194912310021" not in response.headers.get("Location", "")
    assert db.session.scalar(select(func.count()).where(Student.student_no == "N1")) == 0


def test_creating_a_student_through_the_form(school, login):
    client = login(make_user(Role.SCHOOL_OFFICER, school.east_school))
    form = {"class_id": school.class_b.id, "student_no": "N2", "name": "新生", "id_number": make_id_number(),
            "gender": "", "stage": "compulsory", "hukou": "rural", "guardian_name": "家长",
            "guardian_phone": "13800138000"}
    response = client.post(f"/students/new?school={school.east_school.id}", data=form)
    assert response.status_code == 302
    student = db.session.scalar(select(Student).where(Student.student_no == "N2"))
    assert (student.class_id, student.hukou, student.guardians[0].phone) == (school.class_b.id, "rural",
                                                                           "13800138000")


def test_a_class_teacher_cannot_create_or_edit(school, login):
    client = login(make_user(Role.CLASS_TEACHER, school.class_a))
    assert client.get(f"/students/new?school={school.east_school.id}").status_code == 403
    assert client.get(f"/students/{school.ann.id}/edit").status_code == 403


def test_the_web_import_previews_then_writes_on_confirm(city, login):
    from caretrack.org.models import Unit

    rows = (SAMPLES / "students-sample.csv").read_text(encoding="utf-8-sig").splitlines()
    school_rows = [rows[0]] + [r for r in rows[1:] if r.startswith("2199010101")]
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    response = client.post("/students/import", data={
        "file": (io.BytesIO("\n".join(school_rows).encode("utf-8-sig")), "roster.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    preview = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "预览" in preview
    assert "新增 14" in preview
    assert db.session.scalar(select(func.count()).select_from(Student)) == 0
    confirm_url = response.headers["Location"] + "/confirm"
    done = client.post(confirm_url, follow_redirects=True).get_data(as_text=True)
    assert "导入完成" in done
    school = db.session.scalar(select(Unit).where(Unit.code == "2199010101"))
    assert db.session.scalar(select(func.count()).where(Student.school_id == school.id)) == 14


def test_someone_elses_import_job_is_404(city, login, client):
    first = login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    upload = io.BytesIO(b"\xef\xbb\xbf" + "单位代码\n".encode())
    response = first.post("/students/import", data={"file": (upload, "roster.csv")},
                          content_type="multipart/form-data")
    job_url = response.headers["Location"]
    client.post("/logout")
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    assert client.get(job_url).status_code == 404


def test_a_file_over_the_upload_limit_gets_a_clear_message(city, login, app):
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    big = io.BytesIO(b"a" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    response = client.post("/students/import", data={"file": (big, "roster.csv")}, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "文件过大" in response.get_data(as_text=True)


def test_an_officer_of_one_school_can_register_a_student_from_the_list(school, login):
    html = page(login(make_user(Role.SCHOOL_OFFICER, school.east_school)), "/students/")
    assert f'/students/new?school={school.east_school.id}' in html


def test_a_stale_identification_form_shows_what_is_saved_and_can_then_be_saved(school, login):
    client = login(make_user(Role.SCHOOL_OFFICER, school.east_school))
    year = school.ann.identifications[0].academic_year
    path = f"/students/{school.ann.id}/identification?year={year.start_year}"
    form = {"academic_year": str(year.id), "categories": ["orphan", "disabled"], "level": "special",
            "decided_on": "2025-09-20", "note": "复核", "version": "0"}
    response = client.post(path, data=form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "该记录已被他人修改" in html
    assert "当前保存的内容与您填写的不同：" in html
    assert "家庭经济困难类型：孤儿" in html
    saved = db.session.get(Student, school.ann.id).identifications[0]
    assert f'name="version" type="hidden" value="{saved.version}"' in html
    assert client.post(path, data={**form, "version": str(saved.version)}).status_code == 302
    assert {c.value for c in saved.categories} == {"orphan", "disabled"}


def test_saving_an_unchanged_form_says_nothing_changed(school, login):
    from tests.html_forms import form_data

    client = login(make_user(Role.SCHOOL_OFFICER, school.east_school))
    for url in (f"/students/{school.ann.id}/edit", f"/students/{school.ann.id}/identification?year=2025"):
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
        response = client.post(url, data=form_data(page(client, url), url))
        assert response.status_code == 302, url
        shown = page(client, response.location)
        assert "没有改动，未作保存" in shown, url
        assert "已保存" not in shown, url
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
    version = school.ann.version
    url = f"/students/{school.ann.id}/edit"
    data = form_data(page(client, url), url)
    data["name"] = "安安改名"
    assert "学生信息已保存" in page(client, client.post(url, data=data).location)
    assert school.ann.version == version + 1


def _one_of_each_record(student) -> None:
    """A payment and a care record: a page loads their details (standards, attachments) once there are some."""
    from caretrack.ledger.models import RecordKind
    from tests.factories import care, pay

    care(student, RecordKind.TALK, happened_on=date(2025, 9, 1))
    pay(student, "勤工助学", "100.00", paid_on=date(2025, 9, 1), voucher="V0")


def _grow_the_university(city, student) -> None:
    """Colleges and classes, classmates, years of identification, payments and care records: everything the
    file of a university student could list or look up row by row.
    """
    from caretrack.ledger.models import RecordKind
    from caretrack.org import services as org
    from tests.factories import care, pay

    for index in range(6):
        college = org.get_or_create_college(None, city.university, f"学院{index}")
        for number in range(5):
            classmate_class = org.get_or_create_class(None, city.university, f"班{index}-{number}", college)
            make_student(classmate_class, student_no=f"U{index}{number}",
                         id_number=make_id_number(birth=f"2006{index + 1:02d}{number + 1:02d}"))
    for number in range(8):
        make_student(city.uni_class, student_no=f"M{number}",
                     id_number=make_id_number(birth=f"200512{number + 1:02d}"))
    for year in (2022, 2023, 2024):
        identify(student, year, Category.OTHER)
    for day in range(2, 12):
        care(student, RecordKind.TALK, happened_on=date(2025, 9, day))
        pay(student, "勤工助学", "100.00", paid_on=date(2025, 9, day), voucher=f"V{day}")
    _more_followups_and_cases(city, student)
    db.session.flush()


def _one_followup(student, assignee, due_on=date(2026, 12, 10)) -> None:
    from caretrack.followups import services as followups
    from caretrack.followups.models import FollowUpKind

    followups.schedule(assignee, followups.FollowUpData(student=student, kind=FollowUpKind.VISIT, assignee=assignee,
                                                        due_on=due_on), date(2026, 11, 28), confirm_past=True)


def _more_followups_and_cases(city, student) -> None:
    """Follow-ups of other assignees, and the screening cases of a run over the university (the student's own
    among them): what the follow-up and cadence sections could look up row by row.
    """
    from caretrack.org.services import ensure_academic_year
    from caretrack.screening.rules import seed_rules
    from caretrack.screening.services import run_screening

    for number in range(4):
        _one_followup(student, make_user(Role.COUNSELOR, city.university), date(2026, 12, 10 + number))
    seed_rules()
    officer = make_user(Role.SCHOOL_OFFICER, city.university)
    run_screening(officer, city.university, ensure_academic_year(2025), 1)


FILE_PAGE_CEILING = 15  # statements (issue 16)


@pytest.mark.parametrize("role", [Role.SCHOOL_OFFICER, Role.COUNSELOR])
def test_a_university_students_file_costs_the_same_queries_whatever_the_school_holds(city, login, count_queries,
                                                                                     role):
    student = make_student(city.uni_class, student_no="F001")
    identify(student, 2025, Category.ORPHAN)
    client = login(make_user(role, city.university))
    path = f"/students/{student.id}"
    _one_of_each_record(student)
    _one_followup(student, make_user(Role.COUNSELOR, city.university))

    def queries() -> int:
        db.session.flush()
        with count_queries() as counter:
            page(client, path)
        return counter.count

    few = queries()
    _grow_the_university(city, student)
    assert queries() == few
    assert few <= FILE_PAGE_CEILING


def test_the_unit_tree_of_a_user_is_read_once_per_page(city, login, count_queries):
    student = make_student(city.uni_class)
    client = login(make_user(Role.SCHOOL_OFFICER, city.university))
    with count_queries() as counter:
        page(client, f"/students/{student.id}")
    assert sum("RECURSIVE" in statement.upper() for statement in counter.statements) == 1


def test_the_file_offers_the_classes_of_the_students_college_and_the_picker_every_class(city, login):
    from caretrack.org import services as org

    org.get_or_create_class(None, city.university, "外语2401", city.other_college)
    student = make_student(city.uni_class)
    client = login(make_user(Role.SCHOOL_OFFICER, city.university))
    html = page(client, f"/students/{student.id}")
    assert "机械2401" in html
    assert "外语2401" not in html
    assert f"/students/{student.id}/move/classes" in html
    picker = page(client, f"/students/{student.id}/move/classes")
    assert "机械2401" in picker
    assert "外语2401" in picker
    assert f'action="/students/{student.id}/move"' in picker


def test_the_class_picker_is_404_outside_the_scope_and_403_without_the_edit_role(city, client_for):
    student = make_student(city.uni_class)
    path = f"/students/{student.id}/move/classes"
    assert client_for(make_user(Role.SCHOOL_OFFICER, city.east_school)).get(path).status_code == 404
    assert client_for(make_user(Role.CLASS_TEACHER, city.uni_class)).get(path).status_code == 403


def test_the_list_counts_up_to_the_cap_and_still_pages_past_it(city, login, app, monkeypatch):
    monkeypatch.setitem(app.config, "COUNT_CAP", 4)
    monkeypatch.setitem(app.config, "PER_PAGE", 2)
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    for index in range(4):
        make_student(city.class_a, name=f"学生{index}", student_no=f"C{index}")
    html = page(client, "/students/")
    assert "共 4 条" in html  # at the cap: the exact count
    assert "4+ 名学生" not in html
    for index in range(4, 7):
        make_student(city.class_a, name=f"学生{index}", student_no=f"C{index}")
    first = page(client, "/students/")
    assert "4+ 名学生" in first
    assert "末页页码未知" in first
    assert "共 7 条" not in first
    assert 'href="/students/?page=2"' in first
    assert 'href="/students/?page=3"' in first
    third = page(client, "/students/?page=3")
    assert "学生4" in third
    assert "学生5" in third
    assert 'href="/students/?page=4"' in third  # a row follows: the next link is live
    last = page(client, "/students/?page=4")
    assert "学生6" in last
    assert 'class="page-item disabled">\n        <a class="page-link" href="/students/?page=5"' in last
    assert "?page=5\">5<" not in last


def test_the_capped_count_is_in_english_too(city, login, app, monkeypatch):
    monkeypatch.setitem(app.config, "COUNT_CAP", 1)
    client = login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    for index in range(3):
        make_student(city.class_a, student_no=f"E{index}")
    with client.session_transaction() as session:
        session["locale"] = "en"
    html = page(client, "/students/")
    assert "1+ students" in html
    assert "名学生" not in html


def test_the_university_list_costs_the_same_queries_whatever_the_school_holds(city, login, count_queries):
    student = make_student(city.uni_class, student_no="F001")
    identify(student, 2025, Category.ORPHAN)
    client = login(make_user(Role.SCHOOL_OFFICER, city.university))
    _one_of_each_record(student)
    _one_followup(student, make_user(Role.COUNSELOR, city.university))

    def queries(path: str) -> int:
        db.session.flush()
        with count_queries() as counter:
            page(client, path)
        return counter.count

    paths = ("/students/?year=2025", "/students/?year=2025&identified=yes", "/students/?year=2025&page=2")
    few = [queries(path) for path in paths]
    _grow_the_university(city, student)
    assert [queries(path) for path in paths] == few


# Statements: the user, the years, the unit tree, the count, the rows with their badges, the filter choices in one
# union, the unread notifications.
LIST_PAGE_CEILING = 7


def test_the_list_reads_its_badges_and_filter_choices_in_a_fixed_few_statements(city, login, count_queries):
    for index in range(3):
        identify(make_student(city.uni_class, student_no=f"L{index}"), 2025, Category.ORPHAN, Category.OTHER)
    client = login(make_user(Role.SCHOOL_OFFICER, city.university))
    db.session.flush()
    with count_queries() as counter:
        html = page(client, "/students/?year=2025")
    assert counter.count <= LIST_PAGE_CEILING
    assert sum("identification_categories" in statement for statement in counter.statements) == 1
    assert sum("unit_stages" in statement for statement in counter.statements) == 0
    # Each badge: the level, then the categories in the notice's order.
    assert html.count(f'{Category.ORPHAN.label}、{Category.OTHER.label}') == 3


def test_the_list_filters_preselect_the_chosen_class_and_escape_its_name(city, login):
    from caretrack.org import services as org

    odd = org.get_or_create_class(None, city.university, "机械<24>&\"02\"", city.uni_class.college)
    make_student(odd, student_no="X001")
    client = login(make_user(Role.SCHOOL_OFFICER, city.university))
    html = page(client, f"/students/?class={odd.id}")
    assert f'<option value="{odd.id}" selected>机械&lt;24&gt;&amp;&#34;02&#34;</option>' in html
    assert f'<option value="{city.uni_class.id}">{city.uni_class.name}</option>' in html


def test_the_files_record_form_is_rendered_once_per_language_and_day(city, login, app):
    from caretrack.ledger.views import _FRESH_FIELDS

    first, second = make_student(city.uni_class, student_no="R001"), make_student(city.uni_class, student_no="R002")
    client = login(make_user(Role.SCHOOL_OFFICER, city.university))
    app.extensions.pop(_FRESH_FIELDS, None)
    html = page(client, f"/students/{first.id}")
    assert page(client, f"/students/{second.id}").count('name="summary"') == html.count('name="summary"') == 1
    assert len(app.extensions[_FRESH_FIELDS]) == 1
    with client.session_transaction() as session:
        session["locale"] = "en"
    english = page(client, f"/students/{first.id}")
    assert len(app.extensions[_FRESH_FIELDS]) == 2
    assert 'name="summary"' in english
    assert "内容" not in english.split('id="new-record"')[1].split("</details>")[0]


def test_the_file_reads_the_students_care_records_once(city, login, count_queries):
    # The visit cadence counts the records the timeline has read; it does not read them again.
    student = make_student(city.uni_class, student_no="F002")
    identify(student, 2025, Category.ORPHAN)
    _one_of_each_record(student)
    client = login(make_user(Role.SCHOOL_OFFICER, city.university))
    db.session.flush()
    with count_queries() as counter:
        page(client, f"/students/{student.id}")
    assert sum("FROM support_records" in " ".join(statement.split()) for statement in counter.statements) == 1
