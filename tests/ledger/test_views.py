"""The ledger on the web: the timeline, confidential records, recording, attachments, lists and exports."""

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from caretrack.audit.models import AuditEvent
from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.ledger.models import Disbursement, RecordKind, SupportRecord
from caretrack.org.models import Stage
from caretrack.students.models import Category
from tests.factories import care, identify, make_student, make_user, pay

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def story(city):
    """A junior-school student with a grant, a talk and a confidential psychological-care record."""
    city.ann = make_student(city.class_a, name="安安", stage=Stage.COMPULSORY, is_boarder=True)
    identify(city.ann, 2025, Category.RURAL_DIBAO)
    city.grant = pay(city.ann, "家庭经济困难寄宿生生活补助", "1250.00", paid_on=date(2025, 10, 20), voucher="V1")
    city.talk = care(city.ann, RecordKind.TALK, summary="谈学习计划", happened_on=date(2025, 11, 5))
    city.psych = care(city.ann, RecordKind.PSYCH_CARE, summary="焦虑情绪明显，约定每周谈话",
                      happened_on=date(2025, 12, 1))
    return city


def file_page(client, student) -> str:
    response = client.get(f"/students/{student.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def reads() -> int:
    return db.session.scalar(select(func.count()).where(AuditEvent.action == "restricted_record_read"))


def test_the_timeline_shows_aid_and_care_newest_first(story, login):
    html = file_page(login(make_user(Role.COUNSELOR, story.east_school)), story.ann)
    positions = [html.index(text) for text in ("焦虑情绪明显", "谈学习计划", "家庭经济困难寄宿生生活补助")]
    assert positions == sorted(positions)
    assert "¥1,250.00" in html


def test_a_class_teacher_sees_the_grant_and_the_talk_but_the_care_record_closed(story, login):
    html = file_page(login(make_user(Role.CLASS_TEACHER, story.class_a)), story.ann)
    assert "谈学习计划" in html
    assert "家庭经济困难寄宿生生活补助" in html
    assert "保密记录" in html
    assert "焦虑" not in html
    assert reads() == 0


def test_a_counselor_reads_the_care_record_and_the_read_is_audited(story, login):
    counselor = make_user(Role.COUNSELOR, story.east_school)
    html = file_page(login(counselor), story.ann)
    assert "焦虑情绪明显" in html
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "restricted_record_read"))
    assert (event.user_id, event.object_id, event.unit_id) == (counselor.id, story.psych.id, story.east_school.id)


def test_district_and_city_officers_never_read_confidential_records(story, login, client):
    for user in (make_user(Role.DISTRICT_OFFICER, story.east), make_user(Role.CITY_ADMIN, story.city)):
        html = file_page(login(user), story.ann)
        assert "焦虑" not in html
        assert "保密记录" in html
        client.post("/logout")


def test_a_class_teacher_cannot_open_the_confidential_record_directly(story, login):
    teacher = make_user(Role.CLASS_TEACHER, story.class_a)
    own = care(story.ann, RecordKind.TALK, summary="班主任谈话", actor=teacher)
    client = login(teacher)
    assert client.get(f"/ledger/records/{story.psych.id}/edit").status_code == 403
    assert client.get(f"/ledger/records/{own.id}/edit").status_code == 200


def test_a_teacher_of_another_class_gets_404_everywhere(story, login):
    client = login(make_user(Role.CLASS_TEACHER, story.class_b))
    assert client.get(f"/students/{story.ann.id}").status_code == 404
    assert client.get(f"/ledger/records/{story.talk.id}/edit").status_code == 404
    assert client.post(f"/ledger/students/{story.ann.id}/records", data={}).status_code == 404
    assert "安安" not in client.get("/ledger/caseload").get_data(as_text=True)


def test_the_file_page_runs_the_same_queries_whatever_the_ledger_size(story, login, count_queries):
    client = login(make_user(Role.COUNSELOR, story.east_school))
    path = f"/students/{story.ann.id}"  # read here: the test's own reload of an expired row is not the page's

    def queries() -> int:
        with count_queries() as counter:
            assert client.get(path).status_code == 200
        return counter.count

    few = queries()
    for day in range(1, 21):
        care(story.ann, RecordKind.PSYCH_CARE if day % 2 else RecordKind.HOME_VISIT, happened_on=date(2025, 9, day))
        pay(story.ann, "营养改善计划", "20.00", paid_on=date(2025, 9, day), voucher=f"N{day}")
    assert queries() == few


def test_a_counselor_logs_a_home_visit_with_a_photo(story, login):
    client = login(make_user(Role.COUNSELOR, story.east_school))
    response = client.post(f"/ledger/students/{story.ann.id}/records", data={
        "kind": "home_visit", "happened_on": "2026-11-20", "summary": "家访：与母亲交流学习情况", "tier": "",
        "attachment": (io.BytesIO(PNG), "家访.png")}, content_type="multipart/form-data")
    assert response.status_code == 302
    visit = db.session.scalar(select(SupportRecord).where(SupportRecord.kind == "home_visit"))
    assert visit.tier == "normal"
    (attachment,) = visit.attachments
    html = file_page(client, story.ann)
    assert "家访：与母亲交流学习情况" in html
    download = client.get(f"/ledger/attachments/{attachment.id}")
    assert (download.status_code, download.data) == (200, PNG)


def test_an_executable_attachment_is_refused_and_nothing_is_written(story, login):
    client = login(make_user(Role.COUNSELOR, story.east_school))
    response = client.post(f"/ledger/students/{story.ann.id}/records", data={
        "kind": "home_visit", "happened_on": "2026-11-20", "summary": "家访", "tier": "",
        "attachment": (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 64), "photo.exe")}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "只能是 JPG、PNG 照片或 PDF" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).where(SupportRecord.kind == "home_visit")) == 0


def test_attachments_of_a_confidential_record_are_closed_to_a_class_teacher(story, login, client, tmp_path):
    from caretrack.ledger import services

    attachment = services.add_attachment(None, story.psych, "scan.png", PNG, tmp_path, 1024)
    login(make_user(Role.CLASS_TEACHER, story.class_a))
    assert client.get(f"/ledger/attachments/{attachment.id}").status_code == 403
    client.post("/logout")
    login(make_user(Role.CLASS_TEACHER, story.class_b))
    assert client.get(f"/ledger/attachments/{attachment.id}").status_code == 404


def test_a_school_officer_records_a_grant(story, login):
    client = login(make_user(Role.SCHOOL_OFFICER, story.east_school))
    from caretrack.org.services import ensure_academic_year
    from tests.factories import project

    year = ensure_academic_year(2025)
    response = client.post(f"/ledger/students/{story.ann.id}/disbursements/new", data={
        "project_id": project("营养改善计划", "compulsory").id, "grade": "", "amount": "400.00",
        "paid_on": "2025-11-01", "academic_year_id": year.id, "term": "1", "voucher": "V9"})
    assert response.status_code == 302
    bad = client.post(f"/ledger/students/{story.ann.id}/disbursements/new", data={
        "project_id": project("营养改善计划", "compulsory").id, "grade": "", "amount": "400.001",
        "paid_on": "2025-11-01", "academic_year_id": year.id, "term": "1", "voucher": "V10"})
    assert bad.status_code == 400
    assert "金额最多保留两位小数" in bad.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Disbursement)) == 2


def test_a_class_teacher_cannot_record_a_grant(story, login):
    client = login(make_user(Role.CLASS_TEACHER, story.class_a))
    assert client.get(f"/ledger/students/{story.ann.id}/disbursements/new").status_code == 403


def test_removal_and_restore_on_the_web(story, login):
    client = login(make_user(Role.SCHOOL_OFFICER, story.east_school))
    client.post(f"/ledger/disbursements/{story.grant.id}/remove", data={"reason": "录入错误"})
    assert "家庭经济困难寄宿生生活补助" not in file_page(client, story.ann)
    removed = client.get(f"/ledger/students/{story.ann.id}/removed").get_data(as_text=True)
    assert "录入错误" in removed
    client.post(f"/ledger/disbursements/{story.grant.id}/restore")
    assert "家庭经济困难寄宿生生活补助" in file_page(client, story.ann)


def test_only_the_school_officer_restores(story, login):
    from caretrack.ledger import services

    services.remove_entry(None, story.talk, "写错学生")
    client = login(make_user(Role.COUNSELOR, story.east_school))
    assert client.post(f"/ledger/records/{story.talk.id}/restore").status_code == 403


def test_the_payment_list_totals_and_download_stay_in_scope(story, login, client):
    other = make_student(story.west_class, name="西西")
    pay(other, "家庭经济困难寄宿生生活补助", "1500.00", voucher="W1")
    login(make_user(Role.SCHOOL_OFFICER, story.east_school))
    html = client.get("/ledger/disbursements").get_data(as_text=True)
    assert "安安" in html
    assert "西西" not in html
    assert "¥1,250.00" in html
    sheet = load_workbook(io.BytesIO(client.get("/ledger/disbursements/export.xlsx").data)).active
    names = [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert names == ["安安"]
    assert all("焦虑" not in str(cell) for row in sheet.iter_rows(values_only=True) for cell in row)


def test_the_caseload_puts_students_not_contacted_first(city, login):
    seen = make_student(city.class_a, name="常联系")
    never = make_student(city.class_a, name="未联系")
    for student in (seen, never):
        identify(student, 2026, Category.OTHER)
    care(seen, RecordKind.TALK, happened_on=date(2026, 11, 20))
    client = login(make_user(Role.CLASS_TEACHER, city.class_a))
    html = client.get("/ledger/caseload").get_data(as_text=True)
    assert html.index("未联系") < html.index("常联系")
    assert "从未联系" in html


# --- who may change a care record: its author, the school's counselors and aid officers ---------------------

CHANGERS = {
    "author": 200, "another counselor of the school": 200, "school officer": 200,
    "class teacher of the class": 403, "inspector": 403, "district officer": 403, "city admin": 403,
    "class teacher of another class": 404,
}


def person(city, who: str):
    return {
        "another counselor of the school": lambda: make_user(Role.COUNSELOR, city.east_school),
        "school officer": lambda: make_user(Role.SCHOOL_OFFICER, city.east_school),
        "class teacher of the class": lambda: make_user(Role.CLASS_TEACHER, city.class_a),
        "inspector": lambda: make_user(Role.INSPECTOR, city.east_school),
        "district officer": lambda: make_user(Role.DISTRICT_OFFICER, city.east),
        "city admin": lambda: make_user(Role.CITY_ADMIN, city.city),
        "class teacher of another class": lambda: make_user(Role.CLASS_TEACHER, city.class_b),
    }[who]()


@pytest.fixture
def counselors_talk(story):
    story.counselor = make_user(Role.COUNSELOR, story.class_a)
    story.record = care(story.ann, RecordKind.TALK, summary="辅导员的谈话记录", actor=story.counselor)
    return story


@pytest.mark.parametrize("who", sorted(CHANGERS))
def test_only_the_author_and_the_schools_counselors_and_officers_edit_a_record(counselors_talk, login, who):
    story = counselors_talk
    client = login(story.counselor if who == "author" else person(story, who))
    edit = f"/ledger/records/{story.record.id}/edit"
    assert client.get(edit).status_code == CHANGERS[who]
    changed = client.post(edit, data={"kind": "talk", "happened_on": "2025-10-01", "summary": "改过的内容", "tier": "",
                                      "version": story.record.version})
    assert changed.status_code == (302 if CHANGERS[who] == 200 else CHANGERS[who])
    assert (story.record.summary == "改过的内容") is (CHANGERS[who] == 200)


@pytest.mark.parametrize("who", sorted(CHANGERS))
def test_only_the_author_and_the_schools_counselors_and_officers_remove_a_record(counselors_talk, login, who):
    story = counselors_talk
    client = login(story.counselor if who == "author" else person(story, who))
    response = client.post(f"/ledger/records/{story.record.id}/remove", data={"reason": "重复记录"})
    assert response.status_code == (302 if CHANGERS[who] == 200 else CHANGERS[who])
    assert story.record.is_deleted is (CHANGERS[who] == 200)


def test_the_file_page_offers_the_edit_link_only_to_who_may_change_the_record(counselors_talk, login, client):
    story = counselors_talk
    edit = f'href="/ledger/records/{story.record.id}/edit"'
    login(story.counselor)
    assert edit in file_page(client, story.ann)
    client.post("/logout")
    teacher = make_user(Role.CLASS_TEACHER, story.class_a)
    own = care(story.ann, RecordKind.TALK, summary="班主任自己的谈话", actor=teacher)
    login(teacher)
    html = file_page(client, story.ann)
    assert "辅导员的谈话记录" in html
    assert edit not in html
    assert f'href="/ledger/records/{own.id}/edit"' in html


# --- the record form: safe defaults ---------------------------------------------------------------------------

def selected_kind(html: str) -> str:
    import re

    form = html[html.index('name="kind" required'):]
    return re.search(r'<option selected value="([a-z_]+)"', form[:form.index("</select>")]).group(1)


@pytest.mark.parametrize("role", [Role.CLASS_TEACHER, Role.COUNSELOR, Role.SCHOOL_OFFICER])
def test_the_record_form_starts_as_a_talk_never_as_confidential_care(story, login, role):
    client = login(make_user(role, story.class_a if role is not Role.SCHOOL_OFFICER else story.east_school))
    html = file_page(client, story.ann)
    assert selected_kind(html) == "talk"
    assert '<option value="call">电话联系</option>' in html
    # Saved as the form comes, with only the content typed, the record stays readable to the teacher who wrote it.
    response = client.post(f"/ledger/students/{story.ann.id}/records", data={
        "kind": selected_kind(html), "happened_on": "2026-11-20", "summary": "课间谈话", "tier": ""})
    assert response.status_code == 302
    assert "课间谈话" in file_page(client, story.ann)


def test_a_teacher_is_told_a_confidential_record_would_close_to_them(story, login, client):
    warning = "保存后您也将无法再打开"
    login(make_user(Role.CLASS_TEACHER, story.class_a))
    assert warning in file_page(client, story.ann)
    client.post("/logout")
    login(make_user(Role.COUNSELOR, story.class_a))
    assert warning not in file_page(client, story.ann)


def test_the_work_study_fields_are_marked_for_the_script_and_still_checked_by_the_server(story, login):
    client = login(make_user(Role.COUNSELOR, story.class_a))
    html = file_page(client, story.ann)
    block = html[html.index("data-work-study"):html.index('name="attachment"')]
    assert all(f'name="{name}"' in block for name in ("post", "hours", "pay"))
    assert 'name="summary"' not in block
    assert "js/record-form.js" in html
    refused = client.post(f"/ledger/students/{story.ann.id}/records", data={
        "kind": "talk", "happened_on": "2026-11-20", "summary": "谈话", "tier": "", "post": "图书馆"})
    assert refused.status_code == 400
    assert "只用于勤工助学" in refused.get_data(as_text=True)
    # The text is encrypted at rest (a fresh nonce each time): compared once decrypted, never in SQL.
    assert "谈话" not in [record.summary for record in db.session.scalars(select(SupportRecord))]


# --- an edit saved as shown ---------------------------------------------------------------------------------

def test_a_record_saved_unchanged_says_so_and_writes_nothing(counselors_talk, login):
    story = counselors_talk
    client = login(story.counselor)
    record, version = story.record, story.record.version
    form = {"kind": record.kind, "happened_on": record.happened_on.isoformat(), "summary": record.summary,
            "tier": record.tier, "version": version}
    response = client.post(f"/ledger/records/{record.id}/edit", data=form, follow_redirects=True)
    assert "没有改动，未作保存。" in response.get_data(as_text=True)
    assert record.version == version
    response = client.post(f"/ledger/records/{record.id}/edit", data={**form, "summary": "补充了谈话内容"},
                           follow_redirects=True)
    assert "记录已修改。" in response.get_data(as_text=True)
    assert record.version == version + 1


def test_a_payment_saved_unchanged_says_so_and_writes_nothing(story, login):
    client = login(make_user(Role.SCHOOL_OFFICER, story.east_school))
    grant, version = story.grant, story.grant.version
    form = {"project_id": grant.project_id, "grade": grant.grade or "", "amount": f"{grant.amount:.2f}",
            "paid_on": grant.paid_on.isoformat(), "academic_year_id": grant.academic_year_id,
            "term": str(grant.term or ""), "voucher": grant.voucher, "version": version}
    response = client.post(f"/ledger/disbursements/{grant.id}/edit", data=form, follow_redirects=True)
    assert "没有改动，未作保存。" in response.get_data(as_text=True)
    assert grant.version == version
    response = client.post(f"/ledger/disbursements/{grant.id}/edit", data={**form, "voucher": "V2"},
                           follow_redirects=True)
    assert "发放记录已修改。" in response.get_data(as_text=True)
    assert grant.version == version + 1
