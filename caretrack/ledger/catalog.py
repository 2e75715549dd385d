"""The national aid projects (DOMAIN.md "Aid projects") as seed data for the catalog.

Standards are yearly amounts in yuan where the policy fixes one; graded projects list 一档, 二档, 三档. The city
admin edits the catalog afterwards; these values are only where it starts.
"""

from decimal import Decimal

from caretrack.org.models import Stage

SEED_FROM_YEAR = 2019

# (stage, name, has_grades, period, {grade or variant: yearly amount})
NATIONAL_PROJECTS = [
    (Stage.PRESCHOOL, "学前教育幼儿资助", False, "annual", {}),
    (Stage.COMPULSORY, "免学杂费", False, "annual", {}),
    (Stage.COMPULSORY, "免费教科书", False, "annual", {}),
    (Stage.COMPULSORY, "家庭经济困难寄宿生生活补助", False, "annual", {"小学": "1250", "初中": "1500"}),
    (Stage.COMPULSORY, "家庭经济困难非寄宿生生活补助", False, "annual", {"小学": "625", "初中": "750"}),
    (Stage.COMPULSORY, "营养改善计划", False, "annual", {}),
    (Stage.SENIOR_HIGH, "国家助学金", True, "term", {"1": "3000", "2": "2300", "3": "1600"}),
    (Stage.SENIOR_HIGH, "免学杂费", False, "annual", {}),
    (Stage.VOCATIONAL, "国家助学金", True, "term", {"1": "3000", "2": "2300", "3": "1600"}),
    (Stage.VOCATIONAL, "免学费", False, "annual", {}),
    (Stage.VOCATIONAL, "中职国家奖学金", False, "annual", {"": "6000"}),
    (Stage.HIGHER, "国家奖学金", False, "annual", {"": "10000"}),
    (Stage.HIGHER, "国家励志奖学金", False, "annual", {"": "6000"}),
    (Stage.HIGHER, "国家助学金", True, "term", {"1": "4950", "2": "3700", "3": "2450"}),
    (Stage.HIGHER, "生源地信用助学贷款", False, "annual", {}),
    (Stage.HIGHER, "校园地国家助学贷款", False, "annual", {}),
    (Stage.HIGHER, "勤工助学", False, "annual", {}),
    (Stage.HIGHER, "学费补偿贷款代偿", False, "annual", {}),
    (Stage.HIGHER, "新生入学资助", False, "annual", {}),
    (Stage.HIGHER, "绿色通道", False, "annual", {}),
    (Stage.HIGHER, "临时困难补助", False, "annual", {}),
    (Stage.HIGHER, "学校奖助学金", False, "annual", {}),
]


def seed_rows():
    """(stage, name, has_grades, period, [(grade, variant, Decimal amount)]) for each national project."""
    for stage, name, has_grades, period, amounts in NATIONAL_PROJECTS:
        standards = [(key if has_grades else None, None if has_grades else (key or None), Decimal(value))
                     for key, value in amounts.items()]
        yield stage, name, has_grades, period, standards
