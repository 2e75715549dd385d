"""The caseload page: one badge per visit asked for, and names that do not wrap."""

import re
from datetime import date

from caretrack.core.access import Role
from caretrack.followups.services import seed_cadence
from caretrack.students.models import Category, Level
from tests.factories import identify, make_student, make_user


def test_a_visit_two_rules_ask_for_shows_once(city, client, login, time_machine):
    time_machine.move_to(date(2026, 12, 1))
    seed_cadence()
    student = make_student(city.class_a, name="两条规则")
    identify(student, 2026, Category.REGISTERED, level=Level.SPECIAL)  # 建档立卡 and 特别困难: a visit each term
    login(make_user(Role.CLASS_TEACHER, city.class_a))
    page = client.get("/ledger/caseload").get_data(as_text=True)
    row = page[page.index("两条规则"):page.index("</tr>", page.index("两条规则"))]
    badges = re.findall(r'<span class="badge [^"]*">([^<]+)</span>', row)
    assert "家访（第一学期） 待完成" in badges
    assert len(badges) == len(set(badges))
    assert 'class="text-nowrap"><a href="/students/' in page
