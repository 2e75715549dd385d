"""What a home page is made of: sections of lines (a count and the list behind it) and charts, one per role.

Each section is registered with the roles it is for; a user holding several roles sees each of their sections.
Other packages add their own sections the same way (`register_home_section`): the units' duties, for example,
register one for OVERSIGHT_ROLES and it shows beside the district's and the city's reporting.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from caretrack.core.access import Role, roles_of


@dataclass
class Line:
    """One thing to do: how many, and the list that shows them.

    `counted`: the number is the total of the list behind the link (the home page's tests hold it to that);
    a status line (a date, days left) is not.
    """

    label: str
    count: int | str
    url: str
    counted: bool = True
    urgent: bool = False


@dataclass
class Bar:
    label: str
    value: int
    url: str


@dataclass
class Chart:
    """A bar chart with its numbers: `groups` are rows of the table, one bar per series in each."""

    key: str
    title: str
    series: list[str]
    groups: list[tuple[str, list[Bar]]]
    note: str = ""

    @property
    def biggest(self) -> int:
        return max((bar.value for _label, bars in self.groups for bar in bars), default=0)

    @property
    def is_empty(self) -> bool:
        return self.biggest == 0


@dataclass
class Section:
    key: str
    title: str
    lines: list[Line] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    # A partial of the section's own (e.g. the reporting card with 催报) and what it needs.
    include: str | None = None
    context: dict = field(default_factory=dict)


@dataclass(frozen=True)
class HomeSection:
    key: str
    roles: frozenset[Role]
    build: Callable  # build(user, today) -> Section | None


HOME_SECTIONS: list[HomeSection] = []

# The roles that oversee units (district, city, and the inspectors who read what they read).
OVERSIGHT_ROLES = frozenset({Role.CITY_ADMIN, Role.DISTRICT_OFFICER, Role.INSPECTOR})


def register_home_section(key: str, roles, build: Callable) -> None:
    """Add a section to the home page of the users holding any of `roles`; sections show in registration order."""
    HOME_SECTIONS[:] = [s for s in HOME_SECTIONS if s.key != key]
    HOME_SECTIONS.append(HomeSection(key, frozenset(roles), build))


def sections_for(user, today) -> list[Section]:
    """The user's sections, each built once (a user with several roles sees each role's section)."""
    held = roles_of(user)
    built = (entry.build(user, today) for entry in HOME_SECTIONS if entry.roles & held)
    return [section for section in built if section is not None]
