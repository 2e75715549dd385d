"""Activities test data: the seeded themes by name, an activity in one line."""

from datetime import date

import pytest
from sqlalchemy import select

from caretrack.activities import services
from caretrack.activities.models import Theme
from caretrack.extensions import db

TODAY = date(2026, 3, 20)


def theme(name: str) -> Theme:
    return db.session.scalar(select(Theme).where(Theme.name == name))


def make_activity(organiser, *theme_names, held_on=date(2026, 3, 10), title="主题活动", kind="unit", actor=None):
    """An activity of a unit (or, with kind, a college or club) on the given themes."""
    data = services.ActivityData(organiser=services.organiser_for(kind, organiser),
                                 themes=[theme(name) for name in theme_names or ("诚信教育",)],
                                 title=title, held_on=held_on)
    activity, _warnings = services.save_activity(actor, data, TODAY)
    return activity


@pytest.fixture
def today():
    return TODAY
