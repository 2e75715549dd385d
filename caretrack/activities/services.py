"""Clubs: create one in a school, add and remove members."""

from flask_babel import gettext as _
from sqlalchemy import select

from caretrack.activities.models import Club
from caretrack.audit.services import record, register_action_labels
from caretrack.core.choices import N_
from caretrack.core.errors import DomainError
from caretrack.extensions import db
from caretrack.org.models import Unit
from caretrack.students.groups import check_joinable
from caretrack.students.models import Student

CLUB_CREATED, MEMBER_ADDED, MEMBER_REMOVED = "club_created", "club_member_added", "club_member_removed"
register_action_labels({CLUB_CREATED: N_("建立自强社"), MEMBER_ADDED: N_("加入自强社"),
                        MEMBER_REMOVED: N_("退出自强社")})


def create_club(actor, school: Unit, name: str) -> Club:
    name = name.strip()
    if not school.is_school:
        raise DomainError(_("自强社只能建在学校下。"), field="school_id")
    if db.session.scalar(select(Club.id).where(Club.school_id == school.id, Club.name == name)):
        raise DomainError(_("本校已有名为“%(name)s”的自强社。", name=name), field="name")
    club = Club(school_id=school.id, name=name)
    db.session.add(club)
    db.session.flush()
    record(CLUB_CREATED, actor=actor, obj=club, unit_id=school.id)
    return club


def add_member(actor, club: Club, student: Student) -> None:
    check_joinable(club.school_id, club.members, student)
    club.members.append(student)
    db.session.flush()
    record(MEMBER_ADDED, actor=actor, obj=club, unit_id=club.school_id, detail=f"student:{student.id}")


def remove_member(actor, club: Club, student: Student) -> None:
    club.members.remove(student)
    db.session.flush()
    record(MEMBER_REMOVED, actor=actor, obj=club, unit_id=club.school_id, detail=f"student:{student.id}")
