"""Coverage of the goals on hand-made students: who counts, who is reached, a district is the sum of its schools."""

from datetime import date

from caretrack.activities import queries, services
from caretrack.core.access import Role
from caretrack.notify.models import Notification
from caretrack.org.models import UnitKind
from caretrack.org.services import ensure_academic_year, get_or_create_class, set_term_dates
from tests.activities.conftest import make_activity, theme
from tests.factories import identify, make_student, make_unit, make_user


def attend(activity, *students):
    services.record_attendance(None, activity, list(students), {s.id for s in students})


def by_theme(entries):
    return {e.goal.theme.name: e for e in entries}


def test_reached_means_a_present_attendance_of_the_theme_in_that_year(city):
    year = ensure_academic_year(2025)
    this_year, other_year, came_last_year, twice, absent = (
        make_student(city.uni_class, name=n) for n in ("今年认定", "去年认定", "去年参加", "两次", "缺席"))
    for student in (this_year, came_last_year, twice, absent):
        identify(student, 2025)
    identify(other_year, 2024)
    talk = make_activity(city.university, "防信贷诈骗教育", held_on=date(2026, 3, 10))
    second = make_activity(city.city, "防信贷诈骗教育", held_on=date(2026, 4, 1))  # organised by anyone
    last_year = make_activity(city.university, "防信贷诈骗教育", held_on=date(2025, 6, 1))
    attend(talk, this_year, other_year, twice)
    attend(second, twice)
    attend(last_year, came_last_year)
    services.record_attendance(None, talk, [absent], set())
    fraud = by_theme(queries.coverage(city.university, year))["防信贷诈骗教育"]
    assert (fraud.expected, fraud.reached) == (4, 2)
    assert {s.name for s in fraud.unreached} == {"去年参加", "缺席"}
    honesty = by_theme(queries.coverage(city.university, year))["诚信教育"]
    assert (honesty.expected, honesty.reached) == (4, 0)


def test_goals_follow_the_kind_of_school(city):
    year = ensure_academic_year(2025)
    identify(make_student(city.class_a, name="中学生"), 2025)
    assert {e.goal.theme.name: e.expected for e in queries.coverage(city.east_school, year)} == {"感恩教育": 1}
    assert [e.goal.theme.name for e in queries.coverage(city.east, year)] == ["感恩教育"]
    assert [e.goal.theme.name for e in queries.coverage(city.university, year)] == ["诚信教育", "防信贷诈骗教育"]


def test_a_districts_coverage_is_the_sum_of_its_schools(city):
    year = ensure_academic_year(2025)
    second_school = make_unit("2199010102", "东城区第二中学", UnitKind.SCHOOL, city.east)
    other_class = get_or_create_class(None, second_school, "初二(1)班")
    students = [make_student(c) for c in (city.class_a, city.class_a, city.class_b, other_class, other_class)]
    for student in students:
        identify(student, 2025)
    attend(make_activity(city.east, "感恩教育", held_on=date(2025, 12, 1)), students[0], students[3])
    attend(make_activity(city.east_school, "感恩教育", held_on=date(2026, 1, 5)), students[1])
    district = by_theme(queries.coverage(city.east, year))["感恩教育"]
    schools = [by_theme(queries.coverage(s, year))["感恩教育"] for s in (city.east_school, second_school)]
    assert (district.expected, district.reached) == (5, 3)
    assert district.expected == sum(s.expected for s in schools)
    assert district.reached == sum(s.reached for s in schools)
    assert [(c.school.code, c.expected, c.reached) for c in district.schools] == [
        (city.east_school.code, 3, 2), (second_school.code, 2, 1)]
    assert len(district.unreached) == 2


def test_a_college_page_counts_the_colleges_students_only(city):
    year = ensure_academic_year(2025)
    other = get_or_create_class(None, city.university, "英语2401", city.other_college)
    identify(make_student(city.uni_class), 2025)
    identify(make_student(other), 2025)
    entry = by_theme(queries.coverage(city.university, year, college=city.college))["诚信教育"]
    assert entry.expected == 1


def test_the_json_names_each_unreached_student(city):
    year = ensure_academic_year(2025)
    ann = make_student(city.uni_class, name="安安", student_no="U1")
    identify(ann, 2025)
    data = queries.coverage_json(city.university, year)
    assert data["单位代码"] == city.university.code
    assert data["学年"] == "2025-2026"
    assert data["目标"][0] == {"主题": "诚信教育", "应覆盖学生数": 1, "已覆盖学生数": 0,
                             "未覆盖": [{"单位代码": city.university.code, "学号": "U1", "姓名": "安安"}]}


def test_inviting_tells_the_class_teacher_and_counselor_once(city):
    year = ensure_academic_year(2025)
    ann, bob = make_student(city.uni_class, name="安安"), make_student(city.uni_class, name="宝宝")
    teacher = make_user(Role.CLASS_TEACHER, city.uni_class)
    counselor = make_user(Role.COUNSELOR, city.college)
    make_user(Role.CLASS_TEACHER, city.class_a)  # another class's teacher hears nothing
    goal = by_theme(queries.coverage(city.university, year))["诚信教育"].goal
    contacts = queries.unreached_contacts([ann, bob])
    assert contacts[ann.id] == sorted([teacher.id, counselor.id])
    first = services.invite_unreached(None, goal, year.label, [ann, bob], contacts)
    assert (first.notified, first.students) == (4, 2)
    again = services.invite_unreached(None, goal, year.label, [ann, bob], contacts)
    assert again.notified == 0
    subjects = set(Notification.query.with_entities(Notification.subject).filter_by(user_id=teacher.id))
    assert ("请邀请 安安 参加诚信教育活动（2025-2026 学年尚未参加）",) in subjects


def test_the_year_is_the_school_s_own_academic_year_not_a_fixed_calendar(city):
    """A school whose spring term ends 10 July: a talk on 20 July falls in the break before 2026-2027."""
    year, next_year = ensure_academic_year(2025), ensure_academic_year(2026)
    assert services.year_window(year) == (date(2025, 9, 1), date(2026, 8, 31))  # the city's default terms
    set_term_dates(None, city.east_school, year, 2, date(2026, 2, 20), date(2026, 7, 10))
    assert services.year_window(year, city.east_school) == (date(2025, 9, 1), date(2026, 7, 10))
    assert services.year_window(next_year, city.east_school) == (date(2026, 7, 11), date(2027, 8, 31))
    own, default = make_student(city.class_a, name="东中学生"), make_student(city.west_class, name="西中学生")
    for student in (own, default):
        identify(student, 2025)
        identify(student, 2026)
    attend(make_activity(city.city, "感恩教育", held_on=date(2026, 7, 20)), own, default)
    assert by_theme(queries.coverage(city.east_school, year))["感恩教育"].reached == 0
    assert by_theme(queries.coverage(city.east_school, next_year))["感恩教育"].reached == 1
    assert by_theme(queries.coverage(city.west_school, year))["感恩教育"].reached == 1  # still 2025-2026 there
    assert by_theme(queries.coverage(city.city, year))["感恩教育"].reached == 1  # the sum of the schools


def test_an_activity_in_a_year_over_by_the_school_s_own_dates_is_warned(city):
    year = ensure_academic_year(2025)
    ensure_academic_year(2026)
    set_term_dates(None, city.east_school, year, 2, date(2026, 2, 20), date(2026, 7, 10))
    organiser = services.organiser_for("unit", city.east_school)
    data = services.ActivityData(organiser=organiser, themes=[theme("感恩教育")], title="感恩班会",
                                 held_on=date(2026, 7, 5))
    _activity, warnings = services.save_activity(None, data, date(2026, 7, 15))
    assert warnings == ["活动日期在已结束的学年 2025-2026 内，将计入该学年的覆盖情况。"]
    _activity, warnings = services.save_activity(None, data, date(2026, 7, 8))  # its year still runs
    assert warnings == []
