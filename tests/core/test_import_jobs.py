"""Uploaded rosters on disk: private to the app, and gone as soon as nothing more can come of them."""

import io
import os
import stat
import time

import pytest
from sqlalchemy import func, select

from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.jobs import imports as import_jobs
from caretrack.jobs.models import Job
from caretrack.students.models import Student
from tests.factories import make_id_number, make_user

HEADER = ("单位代码,学院（系）,班级,学号,姓名,性别,身份证号,学段,入学年份,是否寄宿,户口类型,家庭经济困难类型,困难等级,"
          "是否建档立卡家庭,是否烈士子女,是否遭遇自然灾害或突发事件,认定学年,监护人姓名,监护人电话")


def roster(*student_nos: str) -> bytes:
    lines = [f"2199010101,,初一(1)班,{no},学生{no},,{make_id_number()},义务教育,2024,否,城镇,,,否,否,否,,,"
             for no in student_nos]
    return "\n".join([HEADER, *lines]).encode("utf-8-sig")


@pytest.fixture
def officer(city, login):
    return login(make_user(Role.SCHOOL_OFFICER, city.east_school))


def upload(client, content: bytes, name: str = "roster.csv") -> Job:
    response = client.post("/students/import", data={"file": (io.BytesIO(content), name)},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.get(Job, int(response.headers["Location"].rsplit("/", 1)[1]))


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_previewed_upload_is_readable_by_the_app_alone_whatever_the_umask(officer):
    previous = os.umask(0)
    try:
        job = upload(officer, roster("A1"))
    finally:
        os.umask(previous)
    assert job.status == "done"
    assert mode(import_jobs.file_path(job)) == 0o600
    assert mode(import_jobs.file_path(job).parent) == 0o700


def test_a_refused_upload_is_deleted(officer):
    job = upload(officer, "单位代码\n2199010101\n".encode())
    assert import_jobs.import_report(job).refused
    assert not import_jobs.file_path(job).exists()


def test_a_cancelled_preview_is_deleted_and_can_no_longer_be_confirmed(officer):
    job = upload(officer, roster("B1"))
    assert import_jobs.file_path(job).exists()
    page = officer.get(f"/students/import/jobs/{job.id}").get_data(as_text=True)
    assert f"/students/import/jobs/{job.id}/cancel" in page
    cancelled = officer.post(f"/students/import/jobs/{job.id}/cancel", follow_redirects=True)
    assert "已取消导入，上传的文件已删除。" in cancelled.get_data(as_text=True)
    assert not import_jobs.file_path(job).exists()
    assert "这次导入已取消" in officer.get(f"/students/import/jobs/{job.id}").get_data(as_text=True)
    officer.post(f"/students/import/jobs/{job.id}/confirm")
    assert db.session.scalar(select(func.count()).select_from(Student)) == 0


def test_a_confirmed_import_leaves_no_file_behind(officer):
    preview = upload(officer, roster("C1", "C2"))
    done = officer.post(f"/students/import/jobs/{preview.id}/confirm")
    job = db.session.get(Job, int(done.headers["Location"].rsplit("/", 1)[1]))
    assert (job.status, job.params["dry_run"]) == ("done", False)
    assert db.session.scalar(select(func.count()).select_from(Student)) == 2
    assert not import_jobs.file_path(preview).exists()
    assert not import_jobs.file_path(job).exists()


def test_a_failed_import_leaves_no_file_behind(officer, monkeypatch):
    def broken(_actor):
        raise RuntimeError("the importer broke")

    monkeypatch.setitem(import_jobs.IMPORTERS, "students", broken)
    job = upload(officer, roster("D1"))
    assert job.status == "failed"
    assert not import_jobs.file_path(job).exists()


def age(path, seconds: int) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_files_older_than_an_hour_are_swept_by_the_next_upload(officer):
    old, recent = upload(officer, roster("E1")), upload(officer, roster("E2"))
    age(import_jobs.file_path(old), 61 * 60)
    age(import_jobs.file_path(recent), 50 * 60)
    upload(officer, roster("E3"))
    assert not import_jobs.file_path(old).exists()
    assert import_jobs.file_path(recent).exists()
    response = officer.post(f"/students/import/jobs/{old.id}/confirm", follow_redirects=True)
    assert "待导入的文件已失效，请重新上传。" in response.get_data(as_text=True)


def test_the_scheduled_sweep_deletes_what_no_one_confirmed(officer, app):
    from caretrack import scheduler

    job = upload(officer, roster("F1"))
    age(import_jobs.file_path(job), 2 * 3600)
    assert import_jobs.sweep_stale_files() >= 1
    assert not import_jobs.file_path(job).exists()
    assert "caretrack.jobs.imports:sweep_stale_files" in {j.func for j in scheduler.JOBS}


def test_confirming_starts_the_hour_again(officer):
    preview = upload(officer, roster("G1"))
    age(import_jobs.file_path(preview), 59 * 60)
    job = import_jobs.start_confirmed(preview, preview.user)  # queued: no worker has taken it yet
    import_jobs.sweep_stale_files()
    assert import_jobs.file_path(job).exists()
    assert job.status == "queued"


# --- previews that help ----------------------------------------------------------------------------------------

def students() -> int:
    return db.session.scalar(select(func.count()).select_from(Student))


def test_a_refused_preview_groups_its_errors_and_offers_to_import_the_valid_rows(officer):
    other_school = [f"2199010201,,初一(1)班,W{n},西{n},,{make_id_number()},义务教育,2024,否,城镇,,,否,否,否,,,"
                    for n in range(3)]
    content = roster("H1", "H2").decode("utf-8-sig").splitlines()
    job = upload(officer, "\n".join([content[0], *other_school, *content[1:]]).encode())
    page = officer.get(f"/students/import/jobs/{job.id}").get_data(as_text=True)
    assert "文件中有 3 行有误，未导入任何数据。" in page
    assert ('<td class="text-nowrap">3 行</td><td>单位代码</td><td>单位代码“2199010201”不在您的管理范围内。</td>'
            '<td>2–4</td>') in page
    assert "2 行无误，3 行有误：可以只导入无误的行" in page
    assert "只导入无误的 2 行" in page
    assert "确认导入" not in page
    assert import_jobs.file_path(job).exists()  # kept for the hour in which the valid rows may be imported
    done = officer.post(f"/students/import/jobs/{job.id}/confirm", follow_redirects=True).get_data(as_text=True)
    assert "导入完成" in done
    assert students() == 2


def test_a_preview_that_changes_nothing_offers_no_confirm_and_keeps_no_file(officer):
    content = roster("J1")
    first = upload(officer, content)
    officer.post(f"/students/import/jobs/{first.id}/confirm")
    again = upload(officer, content)
    page = officer.get(f"/students/import/jobs/{again.id}").get_data(as_text=True)
    assert "无误的行与系统中已有的数据相同，没有需要写入的变化。" in page
    assert f"/students/import/jobs/{again.id}/confirm" not in page
    assert not import_jobs.file_path(again).exists()
    assert officer.post(f"/students/import/jobs/{again.id}/confirm").location == "/students/import"


def test_a_payment_preview_shows_the_date_term_and_voucher_of_each_payment(city, login):
    from caretrack.core import crypto
    from caretrack.org.models import Stage
    from caretrack.org.services import ensure_academic_year
    from tests.factories import make_student, seed_catalog

    ensure_academic_year(2025)
    seed_catalog()
    kid = make_student(city.uni_class, name="韦娜", stage=Stage.HIGHER)
    client = login(make_user(Role.SCHOOL_OFFICER, city.university))
    content = ("身份证号,资助项目,档次,金额,发放日期,学年,学期,凭证号\n"
               f"{crypto.decrypt(kid.id_cipher)},国家助学金,一档,2475,2025-10-20,2025-2026,1,PZ-0001\n"
               f"{crypto.decrypt(kid.id_cipher)},国家助学金,一档,2475,2026-03-20,2025-2026,,\n").encode()
    response = client.post("/ledger/import", data={"file": (io.BytesIO(content), "payments.csv")},
                           content_type="multipart/form-data")
    page = client.get(response.location).get_data(as_text=True)
    assert "新增：韦娜 国家助学金 一档 ¥2,475.00 · 2025年10月20日 · 2025-2026 第一学期 · 凭证号 PZ-0001" in page
    assert "新增：韦娜 国家助学金 一档 ¥2,475.00 · 2026年3月20日 · 2025-2026 全学年 · 无凭证号" in page
