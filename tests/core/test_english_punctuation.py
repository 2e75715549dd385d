"""English text uses English punctuation: no "Total aid paid：" or "（Term 1）" in the English catalog."""

import re
from pathlib import Path

from babel.messages.pofile import read_po

CATALOG = Path(__file__).resolve().parents[2] / "caretrack" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
FULL_WIDTH = "（）：，。；！？、"
# A run of Chinese text: ideographs and full-width marks, with at least one ideograph (a quoted "学院（系）").
CHINESE_RUN = re.compile(rf"[\u4e00-\u9fff{FULL_WIDTH}]*[\u4e00-\u9fff][\u4e00-\u9fff{FULL_WIDTH}]*")


def stray_marks(text: str) -> list[str]:
    """The full-width marks of `text` that are not part of quoted Chinese."""
    return [mark for mark in CHINESE_RUN.sub("", text) if mark in FULL_WIDTH]


def test_the_rule_tells_quoted_chinese_from_stray_marks():
    assert stray_marks("Total aid paid：") == ["："]
    assert stray_marks("（Term 1）") == ["（", "）"]
    assert stray_marks("Students in higher education need a college (学院（系）).") == []


def test_no_english_message_has_full_width_punctuation():
    with CATALOG.open("rb") as po:
        catalog = read_po(po, locale="en")
    stray = {}
    for message in catalog:
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        for string in strings:
            if string and stray_marks(string):
                stray[message.id if isinstance(message.id, str) else message.id[0]] = string
    assert not stray, stray


def test_an_english_page_puts_english_colons_after_translated_labels(city, client, login):
    from caretrack.core.access import Role
    from tests.factories import make_student, make_user, pay

    student = make_student(city.class_a, name="王小明")
    pay(student, "营养改善计划", "400.00", voucher="P1")
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    client.post("/language", data={"locale": "en"})
    page = client.get(f"/students/{student.id}").get_data(as_text=True)
    assert "Total aid paid: " in page
    assert "Total aid paid：" not in page


def test_an_english_home_page_names_the_role_s_unit_with_ascii_brackets(city, client, login):
    from caretrack.core.access import Role
    from tests.factories import make_user

    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    assert f"{city.east_school.name}（{city.east_school.code}）" in client.get("/").get_data(as_text=True)
    client.post("/language", data={"locale": "en"})
    page = client.get("/").get_data(as_text=True)
    assert f"{city.east_school.name} ({city.east_school.code})" in page
    assert "（" not in page
