"""Synthetic data: a small demo city for `make run`, and city-scale rosters for the benchmarks.

Every person here is made up; ID numbers are generated with valid check digits from made-up serials.
"""

import csv
import io
import random
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from caretrack.accounts import services as accounts
from caretrack.accounts.models import User
from caretrack.core.access import Role, ScopeType
from caretrack.core.idnumber import check_digit
from caretrack.core.imports import run_import
from caretrack.core.tabular import write_csv
from caretrack.extensions import db
from caretrack.org import services as org
from caretrack.org.models import Stage, Unit, UnitKind

DEMO_PASSWORD = "demo-2025!"

UNITS = [
    org.UnitData("990000", "示例市", UnitKind.CITY, None, []),
    org.UnitData("990101", "东城区", UnitKind.DISTRICT, "990000", []),
    org.UnitData("4199010001", "示例理工大学", UnitKind.UNIVERSITY, "990000", [Stage.HIGHER]),
    org.UnitData("2199010101", "东城区第一中学", UnitKind.SCHOOL, "990101", [Stage.COMPULSORY, Stage.SENIOR_HIGH]),
]
COLLEGES = {"4199010001": {"机械工程学院": ["机械2401", "机械2402"], "经济管理学院": ["经管2401"]}}
CLASSES = {"2199010101": ["初一(1)班", "初一(2)班", "高一(1)班"]}


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: Role
    scope_type: ScopeType
    scope: str  # a unit code, or "school code/class name"


USERS = [
    DemoUser("city", "市资助中心 王主任", Role.CITY_ADMIN, ScopeType.UNIT, "990000"),
    DemoUser("district", "东城区资助中心 李老师", Role.DISTRICT_OFFICER, ScopeType.UNIT, "990101"),
    DemoUser("uni_officer", "示例理工大学资助中心 赵老师", Role.SCHOOL_OFFICER, ScopeType.UNIT, "4199010001"),
    DemoUser("uni_counselor", "机械学院辅导员 陈老师", Role.COUNSELOR, ScopeType.COLLEGE, "4199010001/机械工程学院"),
    DemoUser("school_officer", "东城一中资助中心 周老师", Role.SCHOOL_OFFICER, ScopeType.UNIT, "2199010101"),
    DemoUser("school_counselor", "东城一中心理老师 郑老师", Role.COUNSELOR, ScopeType.UNIT, "2199010101"),
    DemoUser("teacher", "初一(1)班班主任 刘老师", Role.CLASS_TEACHER, ScopeType.CLASS, "2199010101/初一(1)班"),
    DemoUser("teacher2", "初一(2)班班主任 孙老师", Role.CLASS_TEACHER, ScopeType.CLASS, "2199010101/初一(2)班"),
    DemoUser("inspector", "市督导 吴老师", Role.INSPECTOR, ScopeType.UNIT, "990000"),
    DemoUser("club_leader", "理工大学自强社指导老师 郭老师", Role.CLUB_LEADER, ScopeType.CLUB, "4199010001/自强社"),
]


def _unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def _build_org() -> None:
    for data in UNITS:
        org.save_unit(None, data, _unit(data.code))
    for code, colleges in COLLEGES.items():
        school = _unit(code)
        for college_name, class_names in colleges.items():
            college = org.get_or_create_college(None, school, college_name)
            for class_name in class_names:
                org.get_or_create_class(None, school, class_name, college)
    for code, class_names in CLASSES.items():
        for class_name in class_names:
            org.get_or_create_class(None, _unit(code), class_name)


def _scope_target(demo_user: DemoUser):
    if demo_user.scope_type is ScopeType.UNIT:
        return _unit(demo_user.scope)
    code, name = demo_user.scope.split("/")
    school = _unit(code)
    if demo_user.scope_type is ScopeType.COLLEGE:
        return org.get_or_create_college(None, school, name)
    if demo_user.scope_type is ScopeType.CLUB:
        return _club(school, name)
    return org.get_or_create_class(None, school, name)


def _club(school: Unit, name: str):
    from caretrack.activities.models import Club
    from caretrack.activities.services import create_club

    return db.session.scalar(select(Club).where(Club.school_id == school.id, Club.name == name)) or \
        create_club(None, school, name)


def _build_users() -> None:
    for demo_user in USERS:
        if db.session.scalar(select(User.id).where(User.username == demo_user.username)):
            continue
        user, _password = accounts.create_user(None, username=demo_user.username,
                                               display_name=demo_user.display_name, password=DEMO_PASSWORD)
        user.must_change_password = False  # demo accounts are for trying things out at once
        accounts.grant_role(None, user, demo_user.role, demo_user.scope_type, _scope_target(demo_user))


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建文斌宇浩凯健俊帆帅旭宁琳晨欣怡佳悦思雨轩涵"
REGIONS = ("110105", "120101", "130102", "340102", "370102", "410102", "420102", "510104")
ROSTER_HEADER = ["单位代码", "学院（系）", "班级", "学号", "姓名", "性别", "身份证号", "学段", "入学年份", "是否寄宿",
                 "户口类型", "家庭经济困难类型", "困难等级", "是否建档立卡家庭", "是否烈士子女",
                 "是否遭遇自然灾害或突发事件", "认定学年", "监护人姓名", "监护人电话"]
CATEGORY_MIXES = (["其他"], ["建档立卡"], ["农村低保"], ["孤儿"], ["残疾"], ["农村特困救助供养"], ["建档立卡", "残疾"],
                  ["农村低保", "其他"])
BIRTH_YEAR_BY_STAGE = {Stage.PRESCHOOL: 2021, Stage.COMPULSORY: 2013, Stage.SENIOR_HIGH: 2009,
                       Stage.VOCATIONAL: 2009, Stage.HIGHER: 2005}


def synthetic_id_number(serial: int, birth_year: int, rng: random.Random) -> str:
    """A valid, made-up 身份证号: a real-looking region, a real date, the serial in the sequence digits."""
    first17 = f"{rng.choice(REGIONS)}{birth_year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{serial % 1000:03d}"
    return first17 + check_digit(first17)


@dataclass(frozen=True)
class RosterSpec:
    """Which school, its stage, and its classes as (college name or "", class name)."""

    school_code: str
    stage: Stage
    classes: list[tuple[str, str]]


def roster_rows(spec: RosterSpec, count: int, rng: random.Random, year_label: str, first_serial: int,
                identified_share: float = 0.2) -> Iterator[list[str]]:
    """Rows of the student import format; about `identified_share` of them identified for `year_label`."""
    used: set[str] = set()
    for number in range(count):
        college, class_name = spec.classes[number % len(spec.classes)]
        birth_year = BIRTH_YEAR_BY_STAGE[spec.stage] + rng.randint(0, 2)
        id_number = synthetic_id_number(first_serial + number, birth_year, rng)
        while id_number in used:
            id_number = synthetic_id_number(first_serial + number, birth_year, rng)
        used.add(id_number)
        categories = rng.choice(CATEGORY_MIXES) if rng.random() < identified_share else []
        yield [spec.school_code, college, class_name, f"{first_serial + number:09d}",
               rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
               "男" if int(id_number[16]) % 2 else "女", id_number, spec.stage.zh_name, str(birth_year + 6),
               rng.choice(["是", "否"]), rng.choice(["农村", "城镇"]), "、".join(categories),
               rng.choice(["特别困难", "困难", "一般困难"]) if categories else "",
               "是" if "建档立卡" in categories else "否", "否", "否", year_label if categories else "",
               rng.choice(SURNAMES) + rng.choice(GIVEN), f"13{rng.randint(100000000, 999999999)}"]


def roster_csv(rows) -> bytes:
    """The rows as a UTF-8 CSV file with its header, as schools export it."""
    return write_csv(ROSTER_HEADER, rows)


DEMO_ROSTERS = [
    (RosterSpec("4199010001", Stage.HIGHER, [("机械工程学院", "机械2401"), ("机械工程学院", "机械2402"),
                                             ("经济管理学院", "经管2401")]), 30, 990100001),
    (RosterSpec("2199010101", Stage.COMPULSORY, [("", "初一(1)班"), ("", "初一(2)班")]), 20, 990200001),
    (RosterSpec("2199010101", Stage.SENIOR_HIGH, [("", "高一(1)班")]), 10, 990300001),
]


def _load_students() -> None:
    from caretrack.core.timeutil import local_today
    from caretrack.org.services import academic_year_of, ensure_academic_year
    from caretrack.students.importers import StudentImporter

    year = ensure_academic_year(academic_year_of(local_today()))
    rng = random.Random(2025)
    rows = [row for spec, count, serial in DEMO_ROSTERS
            for row in roster_rows(spec, count, rng, year.label, serial, identified_share=0.4)]
    report = run_import(StudentImporter(None), io.BytesIO(roster_csv(rows)), "demo.csv")
    if report.refused:
        raise RuntimeError(f"demo roster refused: {report.refused_reason} {report.errors[:3]}")


def _load_ledger() -> None:
    """A few payments and acts of care for the identified demo students, so the timelines are not empty."""
    from datetime import timedelta

    from caretrack.core.timeutil import local_today
    from caretrack.ledger import services as ledger
    from caretrack.ledger.models import Grade, RecordKind
    from caretrack.students.models import Identification, Student

    ledger.seed_catalog()
    today = local_today()
    identified = db.session.scalars(select(Student).join(Identification).order_by(Student.id)).unique().all()
    for number, student in enumerate(identified):
        identification = student.identifications[0]
        grant = {"higher": ("国家助学金", Grade.FIRST), "senior_high": ("国家助学金", Grade.SECOND),
                 "compulsory": ("家庭经济困难寄宿生生活补助" if student.is_boarder else "营养改善计划", None)}
        name, grade = grant.get(student.stage, (None, None))
        paid_on = ledger.academic_year_bounds(student, identification.academic_year)[0] + timedelta(days=45)
        if name and paid_on <= today:
            project = ledger.find_project(name, student.stage, identification.academic_year.start_year)
            amount = project.standards[0].amount / (2 if project.period == "term" else 1) if project.standards \
                else Decimal("400.00")
            ledger.record_disbursement(None, ledger.DisbursementData(
                student=student, project=project, grade=grade, amount=amount.quantize(Decimal("0.01")),
                paid_on=paid_on, academic_year=identification.academic_year, term=1, voucher=f"DEMO{number:04d}"))
        if number % 3 == 0:
            ledger.create_record(None, ledger.RecordData(
                student=student, kind=RecordKind.TALK, happened_on=today - timedelta(days=10 + number),
                summary="了解学习和生活情况，学生表示适应良好。"), today)


def _load_club_members() -> None:
    """The identified students of the university join its self-reliance club."""
    from caretrack.activities.models import Club
    from caretrack.students.models import Identification, Student

    club = db.session.scalar(select(Club).limit(1))
    if club is None or club.members:
        return
    club.members.extend(db.session.scalars(select(Student).join(Identification).where(
        Student.school_id == club.school_id).order_by(Student.id).limit(8)).unique())


def _load_followups() -> None:
    """The class teacher of 初一(1)班 has a home visit to make this week."""
    from datetime import timedelta

    from caretrack.core.timeutil import local_today
    from caretrack.followups import services as followups
    from caretrack.followups.models import FollowUp, FollowUpKind
    from caretrack.org.models import SchoolClass
    from caretrack.students.models import Identification, Student

    teacher = db.session.scalar(select(User).where(User.username == "teacher"))
    student = db.session.scalar(select(Student).join(Identification).join(SchoolClass).where(
        SchoolClass.name == "初一(1)班").order_by(Student.id).limit(1))
    if teacher is None or student is None or db.session.scalar(select(FollowUp.id).limit(1)):
        return
    followups.schedule(teacher, followups.FollowUpData(
        student=student, kind=FollowUpKind.VISIT, assignee=teacher, due_on=local_today() + timedelta(days=3),
        note="了解寒假期间的生活安排"), local_today())


def _load_activities() -> None:
    """A club's anti-loan-fraud talk, a university honesty lecture and a district's gratitude activity, attended."""
    from datetime import timedelta

    from caretrack.activities import queries
    from caretrack.activities import services as activities
    from caretrack.activities.models import Activity, Club, Theme
    from caretrack.core.timeutil import local_today

    club = db.session.scalar(select(Club).limit(1))
    if club is None or db.session.scalar(select(Activity.id).limit(1)):
        return
    themes = {t.name: t for t in db.session.scalars(select(Theme))}
    today = local_today()
    plans = [(activities.organiser_for("club", club), "防信贷诈骗教育", "防范校园贷主题讲座", "图书馆报告厅", 20),
             (activities.organiser_for("unit", _unit("4199010001")), "诚信教育", "诚信还贷，从我做起", "礼堂", 40),
             (activities.organiser_for("unit", _unit("990101")), "感恩教育", "感恩父母主题班会", "各班教室", 30)]
    for organiser, theme, title, place, days_ago in plans:
        activity, _warnings = activities.save_activity(None, activities.ActivityData(
            organiser=organiser, themes=[themes[theme]], title=title, held_on=today - timedelta(days=days_ago),
            place=place, summary="邀请老师讲解相关知识，学生分组讨论并交流体会。"), today)
        school = queries.group_schools(activity)[0]
        group = queries.groups_for(activity, school)[0 if organiser.club else 1]  # the club, or a first class
        students = queries.group_students(activity, group)
        activities.record_attendance(None, activity, students, {s.id for s in students[1:]})


def _load_duties() -> None:
    """A district training its school, aid centre heads and a school's policy publicity: a mixed duties board."""
    from datetime import date, timedelta

    from caretrack.core.timeutil import local_today
    from caretrack.duties import services as duties
    from caretrack.duties.models import DutyRecord, DutyType

    if db.session.scalar(select(DutyRecord.id).limit(1)):
        return
    today = local_today()
    year_start = date(org.academic_year_of(today), 9, 1)
    types = {duty.code: duty for duty in db.session.scalars(select(DutyType))}
    users = {user.username: user for user in db.session.scalars(select(User))}
    district, school, university = _unit("990101"), _unit("2199010101"), _unit("4199010001")
    for unit, username, full_time in ((district, "district", True), (school, "school_officer", False),
                                      (university, "uni_officer", True)):
        duties.add_staff(None, unit, users[username].display_name.split()[-1], full_time, True,
                         date(year_start.year - 2, 9, 1), user=users[username])
    plans = [(district, "district_training", "资助政策与资助工作规范专题培训", [district, school],
              [users["school_officer"]], None, 20),
             (school, "policy_publicity", "在入学通知书和校园网公布资助政策", [], [],
              "资助中心 周老师 010-6000 0000", 60),
             (university, "leadership_meeting", "校领导班子资助工作专题会议", [university], [], None, 40)]
    for unit, code, title, attending, trainees, contact, days_ago in plans:
        duties.record_duty(None, unit, duties.RecordData(
            duty=types[code], done_on=max(year_start, today - timedelta(days=days_ago)), title=title,
            summary="传达最新资助政策，部署本学年资助工作。", contact=contact,
            channel="入学通知书、校园网" if contact else None,
            attending_units=attending, trainees=trainees), today, {u.id for u in attending}, {u.id for u in trainees})


DEMO_NARRATIVES = ["该生学习态度端正，能按时完成作业，积极参加班级活动。",
                   "该生勤奋刻苦，乐于助人，本学期参加了诚信教育主题活动。",
                   "该生性格开朗，自强自立，希望继续保持，争取更大进步。"]


def _load_summaries() -> None:
    """Narratives for a few students of each class teacher's class, and the current term's summaries kept."""
    from caretrack.core.timeutil import local_today
    from caretrack.org.services import term_on
    from caretrack.summaries import queries, services
    from caretrack.summaries.models import SummaryNarrative

    today = local_today()
    current = term_on(None, today)
    if current is None or current.starts_on > today or db.session.scalar(select(SummaryNarrative.id).limit(1)):
        return
    students = queries.batch_students(current.year)
    for class_id in dict.fromkeys(s.class_id for s in students):
        members = [s for s in students if s.class_id == class_id]
        for student, text in zip(members, DEMO_NARRATIVES, strict=False):
            if today >= queries.term_window(student, current.year, current.number).starts_on:
                services.save_narrative(None, student, current.year, current.number, text, today=today)
        services.store_generated(queries.build_summaries(members, current.year, current.number))


def is_loaded() -> bool:
    return db.session.scalar(select(User.id).where(User.username == USERS[0].username)) is not None


def load() -> None:
    """Create the demo city (idempotent); the caller commits."""
    _build_org()
    _build_users()
    _load_students()
    _load_ledger()
    _load_followups()
    _load_club_members()
    _load_activities()
    _load_duties()
    _load_summaries()


# --- the sample import files of docs/samples -------------------------------------------------------------
# `flask caretrack samples -o docs/samples` writes them; the tests import them and compare against hand counts,
# so every row comes from a fixed seed and regenerating them gives byte-identical files.

SAMPLE_SEED = 20251020
SAMPLE_YEAR = "2025-2026"
UNIT_HEADER = ["单位代码", "单位名称", "单位类型", "上级单位代码", "学段", "举办者"]
SAMPLE_UNITS = [
    ["990000", "示例市", "市", "", "", "公办"],
    ["990101", "东城区", "区", "990000", "", "公办"],
    ["990102", "西城区", "区", "990000", "", "公办"],
    ["4199010001", "示例理工大学", "高校", "990000", "高等教育", "公办"],
    ["4199010002", "示例师范学院", "高校", "990000", "高等教育", "公办"],
    ["3199010001", "示例市交通运输职业学校", "中职", "990000", "中职", "公办"],
    ["2199010101", "东城区第一中学", "中小学", "990101", "义务教育、普通高中", "公办"],
    ["2199010102", "东城区实验小学", "中小学", "990101", "义务教育", "公办"],
    ["1199010101", "东城区第二幼儿园", "幼儿园", "990101", "学前教育", "公办"],
    ["2199010201", "西城区民族中学", "中小学", "990102", "义务教育、普通高中", "公办"],
    ["2199010202", "示例市教委直属实验学校", "中小学", "990102", "义务教育", "公办"],
]
DISBURSEMENT_HEADER = ["身份证号", "资助项目", "档次", "金额", "发放日期", "学年", "学期", "凭证号"]
BUDGET_HEADER = ["单位代码", "资助项目", "学段", "学年", "预算金额"]
# Budgets of the sample units (docs/import-formats.md "budgets"): a district's own, its schools', a university's.
# 国家助学金 is a project of three stages: the district names its stage, a school's own stages tell which it is.
SAMPLE_BUDGETS = [
    ["990101", "家庭经济困难寄宿生生活补助", "", SAMPLE_YEAR, "200000.00"],
    ["990101", "国家助学金", "普通高中", SAMPLE_YEAR, "150000.00"],
    ["2199010101", "国家助学金", "", SAMPLE_YEAR, "60000.00"],
    ["2199010101", "家庭经济困难寄宿生生活补助", "", SAMPLE_YEAR, "45000.00"],
    ["2199010102", "家庭经济困难寄宿生生活补助", "", SAMPLE_YEAR, "30000.00"],
    ["4199010001", "国家助学金", "", SAMPLE_YEAR, "1200000.00"],
    ["4199010001", "国家励志奖学金", "", SAMPLE_YEAR, "500000.00"],
    ["4199010001", "新生入学资助", "高等教育", SAMPLE_YEAR, "80000.00"],
]


@dataclass(frozen=True)
class SampleGroup:
    """One school stage of students-sample.csv: its rows, and the categories (and year) of those identified."""

    spec: RosterSpec
    count: int
    first_serial: int
    identified: tuple[tuple[str, str], ...]


def _classes(*names: str, college: str = "") -> list[tuple[str, str]]:
    return [(college, name) for name in names]


THIS_YEAR, LAST_YEAR = SAMPLE_YEAR, "2024-2025"
SAMPLE_GROUPS = [
    SampleGroup(RosterSpec("4199010001", Stage.HIGHER, _classes("机械2401", "机械2402", college="机械工程学院")
                           + _classes("经管2401", college="经济管理学院")
                           + _classes("化工2401", college="化学化工学院")),
                32, 100001, (("孤儿", THIS_YEAR), ("残疾、孤儿", THIS_YEAR), ("其他", THIS_YEAR),
                             ("孤儿、其他", LAST_YEAR), ("其他", THIS_YEAR), ("农村低保、孤儿", THIS_YEAR))),
    SampleGroup(RosterSpec("4199010002", Stage.HIGHER, _classes("汉语2401", "数学2401", college="文学院")
                           + _classes("物理2501", college="物理学院")),
                18, 200001, (("建档立卡", THIS_YEAR), ("残疾、孤儿", THIS_YEAR))),
    SampleGroup(RosterSpec("3199010001", Stage.VOCATIONAL, _classes("汽修2501班", "物流2501班")),
                12, 100001, (("其他", THIS_YEAR), ("其他", THIS_YEAR), ("孤儿、其他", THIS_YEAR))),
    SampleGroup(RosterSpec("2199010101", Stage.COMPULSORY, _classes("初一(1)班", "初一(2)班")),
                9, 10100001, (("孤儿", THIS_YEAR), ("建档立卡", THIS_YEAR))),
    SampleGroup(RosterSpec("2199010101", Stage.SENIOR_HIGH, _classes("高一(1)班")),
                5, 10100101, (("建档立卡", THIS_YEAR), ("残疾、农村低保", THIS_YEAR), ("残疾、其他", THIS_YEAR))),
    SampleGroup(RosterSpec("2199010102", Stage.COMPULSORY, _classes("三年级(1)班", "五年级(2)班")),
                12, 10200001, (("建档立卡、其他", THIS_YEAR), ("其他", THIS_YEAR), ("农村特困救助供养", THIS_YEAR),
                               ("农村特困救助供养、其他", THIS_YEAR))),
    SampleGroup(RosterSpec("1199010101", Stage.PRESCHOOL, _classes("小班", "中班", "大班")),
                12, 10100001, (("建档立卡、农村低保", THIS_YEAR), ("其他", THIS_YEAR), ("孤儿、其他", THIS_YEAR))),
    SampleGroup(RosterSpec("2199010201", Stage.COMPULSORY, _classes("初二(1)班")),
                8, 20100001, (("农村低保、其他", THIS_YEAR),)),
    SampleGroup(RosterSpec("2199010201", Stage.SENIOR_HIGH, _classes("高二(1)班")),
                4, 20100101, (("建档立卡", THIS_YEAR),)),
    SampleGroup(RosterSpec("2199010202", Stage.COMPULSORY, _classes("四年级(1)班", "六年级(1)班")),
                12, 20200001, (("建档立卡、孤儿", THIS_YEAR), ("残疾", THIS_YEAR))),
]
AGE_AT_ENTRY = {Stage.PRESCHOOL: 3, Stage.COMPULSORY: 6, Stage.SENIOR_HIGH: 15, Stage.VOCATIONAL: 15, Stage.HIGHER: 18}
# What a grade of 国家助学金 pays per term at each stage, for the sample payments.
GRANT_AMOUNTS = {Stage.HIGHER: {"一档": "2475.00", "三档": "1650.00"},
                 Stage.VOCATIONAL: {"一档": "1150.00", "三档": "575.00"},
                 Stage.SENIOR_HIGH: {"一档": "1000.00", "三档": "500.00"}}
COMPULSORY_FOUR = {"建档立卡", "残疾", "农村低保", "农村特困救助供养"}


def _sample_student(group: SampleGroup, number: int, identified: tuple[str, str] | None, rng: random.Random,
                    used: set[str]) -> list[str]:
    college, class_name = group.spec.classes[number % len(group.spec.classes)]
    birth_year = BIRTH_YEAR_BY_STAGE[group.spec.stage] + rng.randint(0, 2)
    id_number = synthetic_id_number(group.first_serial + number, birth_year, rng)
    while id_number in used:
        id_number = synthetic_id_number(group.first_serial + number, birth_year, rng)
    used.add(id_number)
    categories, year = identified or ("", "")
    boards = group.spec.stage in (Stage.HIGHER, Stage.VOCATIONAL) or \
        (group.spec.stage is not Stage.PRESCHOOL and rng.random() < 0.4)
    return [group.spec.school_code, college, class_name, f"{group.first_serial + number:09d}",
            rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
            "男" if int(id_number[16]) % 2 else "女", id_number, group.spec.stage.zh_name,
            str(min(birth_year + AGE_AT_ENTRY[group.spec.stage] + rng.randint(0, 1), 2025)),
            "是" if boards else "否", rng.choice(["农村", "城镇"]), categories,
            rng.choice(["特别困难", "困难", "一般困难"]) if categories else "",
            "是" if "建档立卡" in categories else "否", "否",
            "是" if categories and rng.random() < 0.15 else "否", year,
            rng.choice(SURNAMES) + rng.choice(GIVEN), f"13{rng.randint(100000000, 999999999)}"]


def sample_students() -> list[list[str]]:
    """The rows of students-sample.csv; each group's identified students spread evenly over its rows."""
    rng = random.Random(SAMPLE_SEED)
    used: set[str] = set()
    rows = []
    for group in SAMPLE_GROUPS:
        slots = {(2 * i + 1) * group.count // (2 * len(group.identified)): identified
                 for i, identified in enumerate(group.identified)}
        rows.extend(_sample_student(group, number, slots.get(number), rng, used) for number in range(group.count))
    return rows


def _payments_of(row: list[str], number: int) -> list[tuple[str, str, str, str, str, str]]:
    """(project, grade, amount, date, year, term) paid to an identified student; every sixth is paid nothing."""
    stage = Stage.from_zh(row[7])
    categories, boards, year = set(row[11].split("、")), row[9] == "是", row[16]
    start = int(year[:4])
    if number % 6 == 5:
        return []
    if stage in GRANT_AMOUNTS:
        grade = "三档" if number % 4 == 3 else "一档"  # a protected student paid below the highest grade is a case
        terms = (1, 2) if grade == "一档" else (1,)
        dates = {1: f"{start}-10-20", 2: f"{start + 1}-03-20"}
        return [("国家助学金", grade, GRANT_AMOUNTS[stage][grade], dates[term], year, str(term)) for term in terms]
    if stage is Stage.PRESCHOOL:
        project, amount = "学前教育幼儿资助", "1000.00"
    elif boards:
        project, amount = "家庭经济困难寄宿生生活补助", "1250.00"
    elif categories & COMPULSORY_FOUR:
        project, amount = "家庭经济困难非寄宿生生活补助", "625.00"
    else:
        project, amount = "营养改善计划", "400.00"
    return [(project, "", amount, f"{start}-10-20", year, "1")]


def sample_disbursements(students: list[list[str]]) -> list[list[str]]:
    """The rows of disbursements-sample.csv: the identified students' aid, and two scholarships."""
    payments = []
    identified = [row for row in students if row[11]]
    for number, row in enumerate(identified):
        payments.extend((row[6], *payment) for payment in _payments_of(row, number))
    scholars = [row for row in students if row[7] == Stage.HIGHER.zh_name and not row[11]][:2]
    payments.extend((row[6], "国家奖学金", "", "10000.00", "2025-10-20", SAMPLE_YEAR, "1") for row in scholars)
    return [[*payment, f"V{number:07d}"] for number, payment in enumerate(payments, start=1)]


def sample_bad_students(students: list[list[str]]) -> list[list[str]]:
    """The first eight sample rows with one known fault each (docs/import-formats.md lists them)."""
    rows = [list(row) for row in students[:8]]
    first17 = rows[0][6][:17]
    rows[0][6] = first17 + ("1" if check_digit(first17) == "0" else "0")  # a wrong check digit
    invalid_date = rows[1][6][:10] + "0230" + rows[1][6][14:17]
    rows[1][6] = invalid_date + check_digit(invalid_date)  # 30 February
    rows[2][6] = rows[2][6][:17]  # 17 characters
    rows[3][3] = rows[4][3]  # two rows, one 学号
    rows[5][11:13] = ["特困户", "困难"]  # not a category of the list
    rows[6][0] = "0000000000"  # no such unit
    rows[7][4] = ""  # no name
    return rows


def _csv(header: list[str], rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def _xlsx(header: list[str], rows: list[list[str]]) -> bytes:
    """The rows on one sheet, every cell text as a roster typed in Excel with text columns; no timestamps inside."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.properties.created = datetime(2025, 10, 20)
    sheet = workbook.active
    for row in [header, *rows]:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    # openpyxl stamps the zip entries and the "modified" property with the time of saving; fix both.
    fixed = io.BytesIO()
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2025-10-20T00:00:00Z", content)
            target.writestr(zipfile.ZipInfo(info.filename, date_time=(2025, 10, 20, 0, 0, 0)), content,
                            compress_type=zipfile.ZIP_DEFLATED)
    return fixed.getvalue()


def sample_files() -> dict[str, bytes]:
    """Every sample import file by name, as the schools' own tools write them (UTF-8 with BOM, GB18030, XLSX)."""
    students = sample_students()
    return {
        "units-sample.csv": _csv(UNIT_HEADER, SAMPLE_UNITS),
        "students-sample.csv": _csv(ROSTER_HEADER, students),
        "students-sample-gb18030.csv": _csv(ROSTER_HEADER, students, "gb18030"),
        "students-sample.xlsx": _xlsx(ROSTER_HEADER, students),
        "students-bad.csv": _csv(ROSTER_HEADER, sample_bad_students(students)),
        "disbursements-sample.csv": _csv(DISBURSEMENT_HEADER, sample_disbursements(students)),
        "budgets-sample.csv": _csv(BUDGET_HEADER, SAMPLE_BUDGETS),
    }


def write_samples(directory: str | Path) -> list[str]:
    """Write the sample files into the directory (made if missing); return their names."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = sample_files()
    for name, content in files.items():
        (directory / name).write_bytes(content)
    return list(files)
