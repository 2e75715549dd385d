"""Self-reliance clubs: officers keep them; a club leader sees the members' names and nothing of their aid."""

import pytest
from sqlalchemy import select

from caretrack.accounts import services as accounts
from caretrack.activities import services
from caretrack.activities.models import Club
from caretrack.core.access import Role, ScopeType
from caretrack.core.errors import DomainError
from caretrack.extensions import db
from tests.factories import make_student, make_user


@pytest.fixture
def club(city):
    city.ann = make_student(city.uni_class, name="安安", student_no="U1")
    city.club = services.create_club(None, city.university, "自强社")
    services.add_member(None, city.club, city.ann)
    city.leader = make_user()
    accounts.grant_role(None, city.leader, Role.CLUB_LEADER, ScopeType.CLUB, city.club)
    return city


def test_members_come_from_the_clubs_school_once(club):
    with pytest.raises(DomainError, match="只能加入本校学生"):
        services.add_member(None, club.club, make_student(club.class_a))
    with pytest.raises(DomainError, match="已在名单中"):
        services.add_member(None, club.club, club.ann)


def test_the_leader_sees_members_names_but_no_student_file(club, login):
    client = login(club.leader)
    page = client.get(f"/activities/clubs/{club.club.id}").get_data(as_text=True)
    assert "安安" in page
    assert club.ann.id_masked not in page
    assert client.get("/students/").status_code == 403
    assert client.get(f"/students/{club.ann.id}").status_code == 403
    assert client.post(f"/activities/clubs/{club.club.id}/members", data={"student_no": "U1"}).status_code == 403


def test_a_leader_of_another_club_gets_404(club, login):
    other = services.create_club(None, club.university, "另一个自强社")
    leader = make_user()
    accounts.grant_role(None, leader, Role.CLUB_LEADER, ScopeType.CLUB, other)
    client = login(leader)
    assert client.get(f"/activities/clubs/{club.club.id}").status_code == 404
    assert "自强社" in client.get("/activities/clubs/").get_data(as_text=True)
    assert f"/activities/clubs/{club.club.id}\"" not in client.get("/activities/clubs/").get_data(as_text=True)


def test_the_officer_creates_a_club_and_adds_members_on_the_web(city, login, client):
    make_student(city.uni_class, name="宝宝", student_no="U2")
    login(make_user(Role.SCHOOL_OFFICER, city.university))
    response = client.post("/activities/clubs/", data={"school_id": city.university.id, "name": "励志社"})
    assert response.status_code == 302
    club = db.session.scalar(select(Club).where(Club.name == "励志社"))
    client.post(f"/activities/clubs/{club.id}/members", data={"student_no": "U2"})
    assert [s.name for s in club.members] == ["宝宝"]
    missing = client.post(f"/activities/clubs/{club.id}/members", data={"student_no": "NOPE"}, follow_redirects=True)
    assert "本校没有学号为“NOPE”的学生" in missing.get_data(as_text=True)


def test_a_class_teacher_has_no_clubs(city, login):
    assert login(make_user(Role.CLASS_TEACHER, city.class_a)).get("/activities/clubs/").status_code == 403
