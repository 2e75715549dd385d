"""Changing and deleting what the duties keep: records (with trainees and files), staff, budgets, visits.

Service tests first (they run on SQLite and PostgreSQL), then the pages: what a user sees, who may (404 outside
the scope, 403 without the role), and bad input (a message, nothing written, never a 500).
"""

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from caretrack.audit.models import AuditEvent
from caretrack.core.errors import DomainError
from caretrack.duties import queries, services
from caretrack.duties.forms import DeleteForm
from caretrack.duties.models import AidStaff, Budget, CityVisit, DutyFile, DutyRecord, DutyStatus, Improvement
from caretrack.extensions import db
from caretrack.org.models import Stage
from tests.factories import project

PDF = b"%PDF-1.4\n% minutes\n"
TODAY = date(2026, 8, 31)


def allowed(unit):
    return {u.id for u in queries.attending_choices(unit)}, {u.id for u in queries.trainee_choices(unit)}


def training(city, duties, people, **fields):
    units, trainees = allowed(city.east)
    data = services.RecordData(duty=duties["district_training"], done_on=fields.pop("done_on", date(2025, 10, 20)),
                               title=fields.pop("title", "资助政策专题培训"), attending_units=[city.east_school],
                               trainees=[people["school"]], **fields)
    return services.record_duty(people["east"], city.east, data, TODAY, units, trainees)


def data_of(entry, **changes) -> services.RecordData:
    values = {"duty": entry.duty_type, "done_on": entry.done_on, "title": entry.title, "summary": entry.summary,
              "channel": entry.channel, "contact": entry.contact, "attending_units": list(entry.attending_units),
              "trainees": list(entry.trainees)}
    return services.RecordData(**{**values, **changes})


def update(entry, actor, **changes):
    units, trainees = allowed(entry.unit)
    return services.update_record(actor, entry, data_of(entry, **changes), TODAY, units, trainees)


def actions(action: str) -> list:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


# --- services --------------------------------------------------------------------------------------------

def test_an_unchanged_record_writes_and_audits_nothing(city, duties, people, year):
    entry = training(city, duties, people)
    assert update(entry, people["east"]) == []
    assert entry.version == 1
    assert actions(services.DutyAction.RECORD_UPDATED) == []


def test_a_changed_record_says_what_changed_and_is_audited(city, duties, people, year):
    entry = training(city, duties, people)
    changed = update(entry, people["east"], title="资助政策专题培训（第二期）", trainees=[], summary="  ")
    assert changed == ["title", "trainees"]  # an empty summary stays empty
    assert entry.trainees == []
    assert entry.version == 2
    event = actions(services.DutyAction.RECORD_UPDATED)[0]
    assert (event.user_id, event.unit_id, event.fields) == (people["east"].id, city.east.id, ["title", "trainees"])


def test_changing_the_trainees_alone_moves_the_version(city, duties, people, year):
    entry = training(city, duties, people)
    assert update(entry, people["east"], attending_units=[city.east, city.east_school]) == ["attending_units"]
    assert entry.version == 2


def test_a_record_moved_to_the_year_before_leaves_this_years_duty_late(city, duties, people, year):
    entry = training(city, duties, people)
    update(entry, people["east"], done_on=date(2025, 6, 1))
    assert entry.academic_year.start_year == 2024
    board = queries.build_board([city.east], year, date(2026, 7, 1))
    assert board.rows[0].cell(duties["district_training"].id).status is DutyStatus.LATE


def test_an_edit_keeps_the_rules_of_a_record(city, duties, people, year):
    entry = training(city, duties, people)
    with pytest.raises(DomainError) as refused:
        update(entry, people["east"], title=" ", done_on=date(2027, 1, 1), attending_units=[city.west_school])
    assert {e.field for e in refused.value.errors} == {"title", "done_on", "attending_unit_ids"}
    units, trainees = allowed(city.east)
    with pytest.raises(DomainError, match="已被他人修改"):
        services.update_record(people["east"], entry, data_of(entry, title="x"), TODAY, units, trainees,
                               expected_version=entry.version + 1)


def test_deleting_a_record_takes_its_attendance_trainees_and_files(city, duties, people, year, tmp_path):
    entry = training(city, duties, people)
    services.add_file(people["east"], entry, "纪要.pdf", PDF, tmp_path, 1024 * 1024)
    record_id = entry.id
    services.delete_record(people["east"], entry)
    assert count(DutyRecord) == count(DutyFile) == 0
    assert db.session.execute(select(func.count()).select_from(
        db.metadata.tables["duty_record_trainees"])).scalar() == 0
    event = actions(services.DutyAction.RECORD_DELETED)[0]
    assert (event.object_id, event.unit_id) == (record_id, city.east.id)
    assert event.detail == "district_training 2025-10-20 资助政策专题培训"


def test_staff_are_corrected_and_deleted_with_audit_rows(city, people, year):
    person = services.add_staff(None, city.university, "赵老师", True, False, date(2024, 9, 1))
    same = services.StaffData(name="赵老师", is_full_time=True, is_head=False, starts_on=date(2024, 9, 1))
    assert services.update_staff(people["uni"], person, same) == []
    corrected = services.StaffData(name="赵老师", is_full_time=False, is_head=True, starts_on=date(2024, 9, 1),
                                   user=people["uni"])
    assert services.update_staff(people["uni"], person, corrected) == ["is_full_time", "is_head", "user_id"]
    with pytest.raises(DomainError, match="离岗日期不能早于到岗日期"):
        services.update_staff(people["uni"], person, services.StaffData(
            name="赵老师", is_full_time=True, is_head=False, starts_on=date(2024, 9, 1), ends_on=date(2024, 1, 1)))
    services.delete_staff(people["uni"], person)
    assert count(AidStaff) == 0
    assert [e.detail for e in actions(services.DutyAction.STAFF_DELETED)] == ["赵老师"]


def test_a_budget_saved_again_unchanged_is_not_audited_and_one_deleted_is(city, people, year):
    aid = project("国家助学金", Stage.SENIOR_HIGH)
    budget, outcome = services.put_budget(None, city.east_school, aid, year, Decimal("100.00"))
    assert outcome == "created"
    assert services.put_budget(None, city.east_school, aid, year, Decimal("100.00"))[1] == "unchanged"
    assert services.put_budget(None, city.east_school, aid, year, Decimal("120.00"))[1] == "updated"
    assert len(actions(services.DutyAction.BUDGET_SAVED)) == 2
    services.delete_budget(people["school"], budget)
    assert count(Budget) == 0
    assert [e.detail for e in actions(services.DutyAction.BUDGET_DELETED)] == ["国家助学金 120.00"]


def test_a_visit_is_corrected_and_deleted_with_its_improvements(city, people, year):
    visit = services.record_visit(None, city.east, date(2025, 10, 1), "培训未覆盖", [("补办培训", None),
                                                                                ("建立台账", None)], TODAY)
    assert services.update_visit(people["admin"], visit, date(2025, 10, 1), "培训未覆盖", TODAY) == []
    assert services.update_visit(people["admin"], visit, date(2025, 10, 2), "培训未覆盖民办园", TODAY) == [
        "visited_on", "findings"]
    services.delete_improvement(people["admin"], visit.improvements[0])
    assert [i.requirement for i in visit.improvements] == ["建立台账"]
    services.delete_visit(people["admin"], visit)
    assert count(CityVisit) == count(Improvement) == 0
    assert len(actions(services.DutyAction.VISIT_DELETED)) == 1


# --- pages -----------------------------------------------------------------------------------------------

def text_of(response) -> str:
    return response.get_data(as_text=True)


def form_of(entry, **changes) -> dict:
    data = {"duty_type_id": entry.duty_type_id, "done_on": entry.done_on.isoformat(), "title": entry.title,
            "summary": entry.summary or "", "channel": entry.channel or "", "contact": entry.contact or "",
            "attending_unit_ids": [u.id for u in entry.attending_units], "trainee_ids": [u.id for u in entry.trainees],
            "version": str(entry.version)}
    return {**data, **changes}


def test_the_edit_form_opens_filled_in_and_saves_a_change(city, duties, people, year, client_for):
    entry = training(city, duties, people)
    browser = client_for(people["east"])
    page = text_of(browser.get(f"/duties/records/{entry.id}/edit"))
    assert "修改单位职责记录" in page
    assert 'value="资助政策专题培训"' in page
    assert f'value="{people["school"].id}" checked' in page
    response = browser.post(f"/duties/records/{entry.id}/edit", data=form_of(entry, title="专题培训（修订）"),
                            follow_redirects=True)
    assert "记录已修改。" in text_of(response)
    assert "专题培训（修订）" in text_of(response)
    assert db.session.get(DutyRecord, entry.id).title == "专题培训（修订）"


def test_saving_the_edit_form_unchanged_says_nothing_was_saved(city, duties, people, year, client_for):
    entry = training(city, duties, people)
    response = client_for(people["east"]).post(f"/duties/records/{entry.id}/edit", data=form_of(entry),
                                               follow_redirects=True)
    assert "没有改动，未作保存。" in text_of(response)
    assert actions(services.DutyAction.RECORD_UPDATED) == []


def test_a_file_added_on_the_edit_form_counts_as_a_change(city, duties, people, year, client_for):
    entry = training(city, duties, people)
    response = client_for(people["east"]).post(
        f"/duties/records/{entry.id}/edit", data={**form_of(entry), "file": (io.BytesIO(PDF), "签到表.pdf")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "记录已修改。" in text_of(response)
    assert [f.filename for f in db.session.get(DutyRecord, entry.id).files] == ["签到表.pdf"]


@pytest.mark.parametrize(("changes", "message"), [
    ({"title": ""}, "此项必填。"),
    ({"done_on": "2099-01-01"}, "完成日期不能晚于今天。"),
    ({"done_on": "2025-02-30"}, "不是有效的日期值。"),
    ({"attending_unit_ids": ["999999"]}, "所选的选项已不可用，请刷新页面后重新选择。"),  # a tampered form
    ({"duty_type_id": "abc"}, "选择无效：无法转化类型。"),
    ({"version": "abc"}, "表单已损坏，请刷新页面后重新填写。"),
    ({"version": "7"}, "该记录已被他人修改。"),
])
def test_bad_input_on_the_edit_form_says_why_and_writes_nothing(city, duties, people, year, client_for, changes,
                                                                 message):
    entry = training(city, duties, people)
    response = client_for(people["east"]).post(f"/duties/records/{entry.id}/edit", data=form_of(entry, **changes))
    assert response.status_code == 400
    assert message in text_of(response)
    db.session.expire_all()
    assert db.session.get(DutyRecord, entry.id).version == 1
    assert actions(services.DutyAction.RECORD_UPDATED) == []


def test_deleting_a_record_removes_its_files_from_the_disk(city, duties, people, year, client_for):
    browser = client_for(people["east"])
    response = browser.post(f"/duties/units/{city.east.id}/records/new", data={
        "duty_type_id": duties["district_training"].id, "done_on": "2025-10-20", "title": "资助政策专题培训",
        "trainee_ids": [people["school"].id], "file": (io.BytesIO(PDF), "纪要.pdf")},
        content_type="multipart/form-data")
    entry = db.session.scalar(select(DutyRecord))
    stored = services.DUTY_FILES.path() / entry.files[0].stored_name
    assert stored.exists()
    page = text_of(browser.get(response.location))
    assert "确定删除这条记录（资助政策专题培训，2025年10月20日）吗？" in page
    response = browser.post(f"/duties/records/{entry.id}/delete", follow_redirects=True)
    assert "记录已删除，其附件一并删除。" in text_of(response)
    assert "东城区" in text_of(response)  # back on the unit's page
    assert count(DutyRecord) == count(DutyFile) == 0
    assert not stored.exists()


def test_one_file_of_a_record_is_deleted(city, duties, people, year, client_for, tmp_path):
    browser = client_for(people["east"])
    entry = training(city, duties, people)
    browser.post(f"/duties/records/{entry.id}/files", data={"file": (io.BytesIO(PDF), "纪要.pdf")},
                 content_type="multipart/form-data")
    stored = db.session.scalar(select(DutyFile))
    path = services.DUTY_FILES.path() / stored.stored_name
    assert path.exists()
    assert client_for(people["west"]).post(f"/duties/files/{stored.id}/delete").status_code == 404
    response = browser.post(f"/duties/files/{stored.id}/delete", follow_redirects=True)
    assert "附件已删除。" in text_of(response)
    assert "纪要.pdf" not in text_of(response)
    assert not path.exists()
    assert count(DutyRecord) == 1


def test_outside_the_scope_is_404_and_without_the_role_403(city, duties, people, year, client_for):
    entry = training(city, duties, people)
    person = services.add_staff(None, city.east, "李老师", True, True, date(2024, 9, 1))
    budget = services.save_budget(None, city.east, project("免费教科书", Stage.COMPULSORY), year, Decimal("1"))
    visit = services.record_visit(None, city.east, date(2025, 10, 1), "x", [("y", None)], TODAY)
    writes = [("get", f"/duties/records/{entry.id}/edit"), ("post", f"/duties/records/{entry.id}/edit"),
              ("post", f"/duties/records/{entry.id}/delete"), ("get", f"/duties/staff/{person.id}/edit"),
              ("post", f"/duties/staff/{person.id}/delete"), ("post", f"/duties/budgets/{budget.id}/delete")]
    west, inspector, teacher = (client_for(people[who]) for who in ("west", "inspector", "teacher"))
    for method, url in writes:
        assert getattr(west, method)(url).status_code == 404, url
        assert getattr(inspector, method)(url).status_code == 403, url
        assert getattr(teacher, method)(url).status_code == 403, url
    east = client_for(people["east"])
    for method, url in (("get", f"/duties/visits/{visit.id}/edit"), ("post", f"/duties/visits/{visit.id}/delete"),
                        ("post", f"/duties/improvements/{visit.improvements[0].id}/delete")):
        assert getattr(east, method)(url).status_code == 403, url  # visits are the city's to keep
    assert count(DutyRecord) == count(AidStaff) == count(Budget) == count(CityVisit) == count(Improvement) == 1


def test_staff_are_edited_and_deleted_on_their_pages(city, people, year, client_for):
    person = services.add_staff(None, city.east, "李老师", True, True, date(2024, 9, 1))
    browser = client_for(people["east"])
    page = text_of(browser.get(f"/duties/staff/{person.id}/edit"))
    assert 'value="李老师"' in page
    same = {"name": "李老师", "is_full_time": "y", "is_head": "y", "starts_on": "2024-09-01", "user_id": "0"}
    assert "没有改动，未作保存。" in text_of(browser.post(f"/duties/staff/{person.id}/edit", data=same,
                                                       follow_redirects=True))
    bad = browser.post(f"/duties/staff/{person.id}/edit", data={**same, "ends_on": "2024-01-01"})
    assert bad.status_code == 400
    assert "离岗日期不能早于到岗日期。" in text_of(bad)
    response = browser.post(f"/duties/staff/{person.id}/edit", data={**same, "name": "李明"}, follow_redirects=True)
    assert "资助工作人员信息已保存。" in text_of(response)
    assert "李明" in text_of(response)
    unit_page = text_of(browser.get(f"/duties/units/{city.east.id}?year=2025"))
    assert "确定删除资助工作人员“李明”吗？" in unit_page
    response = browser.post(f"/duties/staff/{person.id}/delete?year=2025", follow_redirects=True)
    assert "已删除。" in text_of(response)
    assert count(AidStaff) == 0


def test_a_budget_is_deleted_and_saving_it_unchanged_says_so(city, people, year, client_for):
    aid = project("免费教科书", Stage.COMPULSORY)
    browser = client_for(people["school"])
    url = f"/duties/units/{city.east_school.id}/budgets?year=2025"
    assert "预算已保存。" in text_of(browser.post(url, data={"project_id": aid.id, "amount": "100"},
                                                  follow_redirects=True))
    page = text_of(browser.post(url, data={"project_id": aid.id, "amount": "100.00"}, follow_redirects=True))
    assert "没有改动，未作保存。" in page
    assert "确定删除免费教科书的年度预算（¥100.00）吗？" in page
    bad = text_of(browser.post(url, data={"project_id": aid.id, "amount": "-1"}, follow_redirects=True))
    assert "预算金额不能为负数。" in bad
    budget = db.session.scalar(select(Budget))
    assert budget.amount == Decimal("100.00")
    response = browser.post(f"/duties/budgets/{budget.id}/delete?year=2025", follow_redirects=True)
    assert "预算已删除。" in text_of(response)
    assert "本学年尚未填报预算。" in text_of(response)


def test_the_city_edits_and_deletes_a_visit(city, people, year, client_for):
    visit = services.record_visit(None, city.east, date(2025, 10, 1), "培训未覆盖", [("补办培训", None)], TODAY)
    admin = client_for(people["admin"])
    page = text_of(admin.get(f"/duties/units/{city.east.id}?year=2025"))
    assert f"/duties/visits/{visit.id}/edit" in page
    bad = admin.post(f"/duties/visits/{visit.id}/edit", data={"visited_on": "2025-10-01", "findings": ""})
    assert bad.status_code == 400
    assert "此项必填。" in text_of(bad)
    response = admin.post(f"/duties/visits/{visit.id}/edit", data={"visited_on": "2025-10-01",
                                                                    "findings": "培训未覆盖民办园"},
                          follow_redirects=True)
    assert "走访调研已修改。" in text_of(response)
    assert "培训未覆盖民办园" in text_of(response)
    admin.post(f"/duties/improvements/{visit.improvements[0].id}/delete")
    assert count(Improvement) == 0
    response = admin.post(f"/duties/visits/{visit.id}/delete", follow_redirects=True)
    assert "走访调研已删除，其整改要求一并删除。" in text_of(response)
    assert count(CityVisit) == 0


def test_the_board_shows_where_the_policy_was_published_and_the_contact(city, duties, people, year, client_for):
    units, trainees = allowed(city.east_school)
    services.record_duty(people["school"], city.east_school, services.RecordData(
        duty=duties["policy_publicity"], done_on=date(2025, 9, 1), title="2025年秋季资助政策宣传",
        channel="入学通知书、校园网", contact="周老师 010-60000000"), TODAY, units, trainees)
    page = text_of(client_for(people["east"]).get(f"/duties/boards/{city.east.id}?year=2025"))
    cell = page.split(f'data-duty="policy_publicity" data-unit="{city.east_school.code}"')[1].split("</td>")[0]
    assert "已完成" in cell
    assert "入学通知书、校园网 · 2025年9月1日" in cell
    assert "联系人：周老师 010-60000000" in cell
    workbook = load_workbook(io.BytesIO(client_for(people["east"]).get(
        f"/duties/units/{city.east_school.id}/inspection.xlsx?year=2025").get_data()))
    row = next(r for r in workbook.worksheets[0].iter_rows(values_only=True) if r[0] == duties["policy_publicity"].name)
    assert "宣传渠道：入学通知书、校园网；联系人：周老师 010-60000000" in row[3]


def _one_of_each(city, duties, people, year):
    """A row of each kind the duties delete, and for each: who deletes it, its delete URL, the page it goes
    back to, the page after the delete when another, and the audit action.
    """
    entry = training(city, duties, people)
    stored = services.add_file(people["east"], entry, "纪要.pdf", PDF, services.DUTY_FILES.path(), 10 ** 6)
    person = services.add_staff(None, city.east, "李老师", True, True, date(2024, 9, 1))
    budget = services.save_budget(None, city.east, project("免费教科书", Stage.COMPULSORY), year, Decimal("1"))
    visit = services.record_visit(None, city.east, date(2025, 10, 1), "x", [("y", None)], TODAY)
    db.session.flush()
    unit_page = f"/duties/units/{city.east.id}?year=2025"
    record_page = f"/duties/records/{entry.id}"
    return [
        ("east", f"/duties/files/{stored.id}/delete", record_page, record_page, "duty_file_deleted"),
        ("east", f"{record_page}/delete", record_page, f"{unit_page}#duty-{entry.duty_type_id}",
         "duty_record_deleted"),
        ("east", f"/duties/staff/{person.id}/delete?year=2025", f"{unit_page}#staff", None, "duty_staff_deleted"),
        ("east", f"/duties/budgets/{budget.id}/delete?year=2025", f"{unit_page}#budgets", None, "duty_budget_deleted"),
        ("admin", f"/duties/improvements/{visit.improvements[0].id}/delete", f"/duties/visits/{visit.id}/edit", None,
         "duty_improvement_deleted"),
        ("admin", f"/duties/visits/{visit.id}/delete?year=2025", f"{unit_page}#visits", None, "duty_visit_deleted"),
    ]


def test_a_delete_whose_form_expired_deletes_nothing_and_says_so(city, duties, people, year, client_for,
                                                                  monkeypatch):
    deletes = _one_of_each(city, duties, people, year)
    # The confirmation came back without its token (the site-wide CSRF check, off in tests, stops it sooner).
    monkeypatch.setattr(DeleteForm, "validate_on_submit", lambda form: False)
    for who, url, back, _done, _action in deletes:
        browser = client_for(people[who])
        response = browser.post(url)
        assert (response.status_code, response.location) == (302, back), url
        assert "表单已过期，请刷新页面后重试。" in text_of(browser.get(back)), url
    assert count(DutyRecord) == count(DutyFile) == count(AidStaff) == count(Budget) == count(CityVisit) == 1
    assert count(Improvement) == 1
    assert db.session.scalar(select(func.count()).where(AuditEvent.action.like("duty_%_deleted"))) == 0


def test_each_delete_goes_back_to_its_page_with_one_audit_row(city, duties, people, year, client_for):
    for who, url, back, done, action in _one_of_each(city, duties, people, year):
        response = client_for(people[who]).post(url)
        assert (response.status_code, response.location) == (302, done or back), url
        assert [(event.user_id, event.action) for event in actions(action)] == [(people[who].id, action)]
    assert count(DutyRecord) == count(DutyFile) == count(AidStaff) == count(Budget) == count(CityVisit) == 0


def test_a_staff_or_visit_correction_is_audited_once_with_its_fields_and_no_change_not_at_all(city, people, year):
    person = services.add_staff(None, city.east, "赵老师", True, False, date(2024, 9, 1))
    visit = services.record_visit(None, city.east, date(2025, 10, 1), "培训未覆盖", [], TODAY)
    same = services.StaffData(name=" 赵老师 ", is_full_time=True, is_head=False, starts_on=date(2024, 9, 1))
    assert services.update_staff(people["east"], person, same) == []
    assert services.update_visit(people["admin"], visit, date(2025, 10, 1), " 培训未覆盖 ", TODAY) == []
    assert actions(services.DutyAction.STAFF_UPDATED) == actions(services.DutyAction.VISIT_UPDATED) == []
    services.update_staff(people["east"], person, services.StaffData(
        name="赵明", is_full_time=True, is_head=True, starts_on=date(2024, 9, 1)))
    services.update_visit(people["admin"], visit, date(2025, 10, 2), "培训未覆盖", TODAY)
    assert [(e.user_id, e.object_id, e.unit_id, e.fields) for e in actions(services.DutyAction.STAFF_UPDATED)] == [
        (people["east"].id, person.id, city.east.id, ["is_head", "name"])]
    assert [(e.user_id, e.object_id, e.unit_id, e.fields) for e in actions(services.DutyAction.VISIT_UPDATED)] == [
        (people["admin"].id, visit.id, city.east.id, ["visited_on"])]
    assert (person.name, person.is_head, visit.visited_on) == ("赵明", True, date(2025, 10, 2))
