"""A small hand-built screening world covering every rule, kind, category, place and remedy state, for the
table's regression tests (tests/screening/test_table_golden.py). Everything is fixed: student numbers, ID
numbers, payment days, the run's time; so the table built from it is known field by field.

Cases (附件1, the university; 附件2, the east district = 东城区第一中学 + 东城区实验小学):
- 孤儿甲  机械工程学院/机械2401  孤儿+残疾, no payment                    应助未助, reason + remedy + deadline
- 低保乙  外国语学院/英语2401   建档立卡+农村低保, 二档 paid, a term-2 payment after the term's end
                                                                        未按最高档, deadline only
- 特困丙  no college/预科2501   农村特困, no payment                      应助未助, closed with a reason
- 其他丁  机械工程学院/机械2401  其他, no payment                          其他应资助未资助, nothing written
- 已发戊  机械工程学院/机械2401  孤儿, paid 一档 after the first run        应助未助, closed by the payment
- 烈士己  外国语学院/英语2401   其他 + martyr, 学校奖助学金                 应助未助, has some aid
- 去年庚  机械工程学院/机械2401  孤儿, 一档 paid the year before, a removed payment this year
                                                                        应助未助, received = last year's
- 东一    东城区第一中学/初一(1)班  建档立卡 non-boarder                    应助未助 (non-boarding subsidy)
- 东二    东城区第一中学/初一(2)班  孤儿 boarder, 营养改善计划 on 10 Jan 2026 应助未助 (boarding subsidy), received
- 东三    东城区实验小学/三年级1班  其他 non-boarder                        其他应资助未资助
- 东四    东城区实验小学/三年级1班  其他 boarder with the boarding subsidy   no case, covered
- 东五    东城区实验小学/三年级1班  其他 boarder, 营养改善计划 on 10 Jan 2026: the school's own term ended on
                                  31 Dec 2025, so the payment is not received in term 1    应助未助
"""

from datetime import date, datetime, timezone

import time_machine
from sqlalchemy import select

from caretrack.extensions import db
from caretrack.ledger.models import Grade
from caretrack.ledger.services import remove_entry
from caretrack.org.models import Stage
from caretrack.org.services import ensure_academic_year, get_or_create_class, set_term_dates
from caretrack.screening import services
from caretrack.screening.models import ScreeningCase
from caretrack.students.models import Category
from tests.factories import identify, make_id_number, make_student
from tests.screening.conftest import YEAR, grant

RUN_AT = datetime(2025, 12, 1, 8, 6, tzinfo=timezone.utc)  # 16:06 in Asia/Shanghai


def kid(school_class, serial: int, name: str, *categories, stage: Stage, boarder: bool = False, **flags):
    person = make_student(school_class, name=name, student_no=f"G{serial:04d}", stage=stage, is_boarder=boarder,
                          id_number=make_id_number(serial=serial, birth="20050101"))
    identify(person, YEAR, *categories, **flags)
    return person


def build(world) -> dict[str, object]:
    """The world's students, payments and cases; the screening run at RUN_AT for the university, the district
    and its two schools. Returns the students by name.
    """
    year = ensure_academic_year(YEAR)
    english = get_or_create_class(None, world.university, "英语2401", world.other_college)
    preparatory = get_or_create_class(None, world.university, "预科2501")  # no college
    set_term_dates(None, world.primary, year, 1, date(2025, 9, 1), date(2025, 12, 31))
    higher = Stage.HIGHER
    people = {
        "孤儿甲": kid(world.uni_class, 11, "孤儿甲", Category.ORPHAN, Category.DISABLED, stage=higher),
        "低保乙": kid(english, 12, "低保乙", Category.RURAL_DIBAO, Category.REGISTERED, stage=higher),
        "特困丙": kid(preparatory, 13, "特困丙", Category.RURAL_TEKUN, stage=higher),
        "其他丁": kid(world.uni_class, 14, "其他丁", Category.OTHER, stage=higher),
        "已发戊": kid(world.uni_class, 15, "已发戊", Category.ORPHAN, stage=higher),
        "烈士己": kid(english, 16, "烈士己", Category.OTHER, stage=higher, is_martyr_child=True),
        "去年庚": kid(world.uni_class, 17, "去年庚", Category.ORPHAN, stage=higher),
        "东一": kid(world.class_a, 21, "东一", Category.REGISTERED, stage=Stage.COMPULSORY),
        "东二": kid(world.class_b, 22, "东二", Category.ORPHAN, stage=Stage.COMPULSORY, boarder=True),
        "东三": kid(world.primary_class, 23, "东三", Category.OTHER, stage=Stage.COMPULSORY),
        "东四": kid(world.primary_class, 24, "东四", Category.OTHER, stage=Stage.COMPULSORY, boarder=True),
        "东五": kid(world.primary_class, 25, "东五", Category.OTHER, stage=Stage.COMPULSORY, boarder=True),
    }
    grant(people["低保乙"], grade=Grade.SECOND, amount="1850.00")  # 2025-10-20, term 1
    grant(people["低保乙"], name="学校奖助学金", grade=None, amount="800.00", term=2)  # 2026-03-20: after the term
    grant(people["烈士己"], name="学校奖助学金", grade=None, amount="500.00", paid_on=date(2025, 9, 15))
    ensure_academic_year(YEAR - 1)
    grant(people["去年庚"], year=YEAR - 1)  # 2024-10-20: received since enrolment, not this year's grant
    remove_entry(None, grant(people["去年庚"], paid_on=date(2025, 11, 5)), "录入错误")
    for name in ("东二", "东五"):
        grant(people[name], name="营养改善计划", grade=None, amount="400.00", paid_on=date(2026, 1, 10))
    grant(people["东四"], name="家庭经济困难寄宿生生活补助", grade=None, amount="1250.00")

    with time_machine.travel(RUN_AT, tick=False):
        for unit in (world.university, world.east, world.east_school, world.primary):
            services.run_screening(None, unit, year, 1)
    case_of = {c.student.name: c for c in db.session.scalars(select(ScreeningCase))}
    services.update_case(None, case_of["孤儿甲"], services.CaseWork("材料未齐", "补齐材料后发放",
                                                                   date(2025, 12, 10), None))
    services.update_case(None, case_of["低保乙"], services.CaseWork(None, None, date(2025, 12, 15), None))
    services.close_case(None, case_of["特困丙"], "学生已退学")
    grant(people["已发戊"], paid_on=date(2025, 11, 2))  # closes its case at once
    db.session.flush()
    return people
