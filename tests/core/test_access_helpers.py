"""Load within scope, then check the permission to act: 404 out of scope, 403 in scope without the role."""

import pytest
from werkzeug.exceptions import Forbidden, NotFound

from caretrack.core.access import Permission, Role, get_or_404, require
from caretrack.org.models import Unit
from tests.factories import make_user


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
