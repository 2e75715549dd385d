"""Load within scope, then check the permission to act: 404 out of scope, 403 in scope without the role."""

import pytest
from werkzeug.exceptions import Forbidden, NotFound

from caretrack.accounts import services as accounts
from caretrack.core.access import Permission, Role, ScopeType, get_or_404, require
from caretrack.extensions import db
from caretrack.org.models import Unit
from tests.factories import make_student, make_user


def test_an_inspector_sees_a_unit_in_scope_but_may_not_manage_it(city, app):
    inspector = make_user(Role.INSPECTOR, city.east)
    with app.test_request_context():
        assert get_or_404(Unit, city.east_school.id, inspector, Permission.ORG_VIEW) == city.east_school
        with pytest.raises(Forbidden):
            get_or_404(Unit, city.east_school.id, inspector, Permission.ORG_VIEW, then=Permission.ORG_MANAGE)
        with pytest.raises(NotFound):
            get_or_404(Unit, city.west_school.id, inspector, Permission.ORG_VIEW, then=Permission.ORG_MANAGE)


def test_an_officer_may_manage_their_own_school(city, app):
    officer = make_user(Role.SCHOOL_OFFICER, city.east_school)
    with app.test_request_context():
        assert get_or_404(Unit, city.east_school.id, officer, Permission.ORG_VIEW,
                          then=Permission.ORG_MANAGE) == city.east_school
        assert require(officer, Permission.ORG_MANAGE, city.east_school) == city.east_school
        with pytest.raises(Forbidden):
            require(officer, Permission.ORG_MANAGE, city.west_school)


def test_a_school_moved_to_another_district_leaves_the_old_districts_scope_at_the_next_page(city, login):
    # The units under a user's grants are read with the user on every request (accounts.sessions), never kept
    # from an earlier one: a school moved away is out of the old district's reach on the very next page.
    student = make_student(city.class_a)
    client = login(make_user(Role.DISTRICT_OFFICER, city.east))
    path = f"/students/{student.id}"
    assert client.get(path).status_code == 200
    db.session.get(Unit, city.east_school.id).parent_id = city.west.id
    db.session.flush()
    assert client.get(path).status_code == 404
    db.session.get(Unit, city.east_school.id).parent_id = city.east.id
    db.session.flush()
    assert client.get(path).status_code == 200


def test_the_units_under_each_grant_come_with_the_user(city, login, count_queries):
    # A counselor of one school and an officer of a district: each grant's subtree is read in the query that
    # loads the user, and no page asks for it again.
    user = make_user(Role.DISTRICT_OFFICER, city.east)
    accounts.grant_role(None, user, Role.COUNSELOR, ScopeType.UNIT, city.university)
    db.session.flush()
    client = login(user)
    pupil, undergraduate = make_student(city.class_a), make_student(city.uni_class)
    db.session.flush()
    with count_queries() as counter:
        assert client.get(f"/students/{pupil.id}").status_code == 200
        assert client.get(f"/students/{undergraduate.id}").status_code == 200
    recursive = [s for s in counter.statements if "RECURSIVE" in s.upper()]
    assert len(recursive) == 2  # one per page: the user's own query
    assert all(s.lstrip().upper().startswith("WITH RECURSIVE USER_UNIT_TREE") for s in recursive)
