"""Clubs, themes, activities and their attendance, coverage goals, exemplary students: rules and writes."""

import re
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import func, select

from caretrack.activities.models import (
    Activity,
    ActivityPhoto,
    Attendance,
    Club,
    ClubProposal,
    CoverageGoal,
    Exemplar,
    ExemplarStatus,
    ExemplarTalk,
    ProposalStatus,
    Theme,
    club_members,
)
from caretrack.audit.services import record, register_action_labels
from caretrack.core import uploads
from caretrack.core.access import unit_subtree_ids
from caretrack.core.choices import N_
from caretrack.core.errors import DomainError, DomainErrors, ErrorCollector
from caretrack.core.models import EffectiveYearsMixin, changed_attributes
from caretrack.extensions import db
from caretrack.org import services as org
from caretrack.org.models import AcademicYear, College, Unit, UnitKind
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


# --- themes ------------------------------------------------------------------------------------------------

ACTIVITY_CREATED, ACTIVITY_UPDATED, ATTENDANCE_RECORDED = "activity_created", "activity_updated", "attendance_recorded"
PHOTO_ADDED, THEME_SAVED, GOAL_SAVED = "activity_photo_added", "activity_theme_saved", "coverage_goal_saved"
MEMBER_PROPOSED, PROPOSAL_DECIDED = "club_member_proposed", "club_proposal_decided"
UNREACHED_INVITED = "unreached_invited"
EXEMPLAR_NOMINATED, EXEMPLAR_APPROVED, EXEMPLAR_CONSENT = "exemplar_nominated", "exemplar_approved", "exemplar_consent"
EXEMPLAR_PUBLISHED, EXEMPLAR_TALK = "exemplar_published", "exemplar_talk"
register_action_labels({
    ACTIVITY_CREATED: N_("记录主题教育活动"), ACTIVITY_UPDATED: N_("修改主题教育活动"),
    ATTENDANCE_RECORDED: N_("记录活动签到"), PHOTO_ADDED: N_("上传活动照片"), THEME_SAVED: N_("保存活动主题"),
    GOAL_SAVED: N_("保存覆盖目标"), MEMBER_PROPOSED: N_("推荐自强社社员"), PROPOSAL_DECIDED: N_("审核自强社社员"),
    UNREACHED_INVITED: N_("邀请未覆盖学生"), EXEMPLAR_NOMINATED: N_("推荐优秀典型"),
    EXEMPLAR_APPROVED: N_("审定优秀典型"), EXEMPLAR_CONSENT: N_("记录公开同意"), EXEMPLAR_PUBLISHED: N_("公开优秀典型"),
    EXEMPLAR_TALK: N_("记录宣讲"),
})


def save_theme(actor, name: str, first_year: int, last_year: int | None, theme: Theme | None = None) -> Theme:
    """Add a theme or change one (the city admin's catalog)."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_("请填写主题名称。"), field="name")
    EffectiveYearsMixin.check_years(first_year, last_year, field="last_year")
    clash = db.session.scalar(select(Theme.id).where(Theme.name == name))
    if clash is not None and (theme is None or clash != theme.id):
        raise DomainError(_("已有名为“%(name)s”的主题。", name=name), field="name")
    created = theme is None
    if created:
        order = db.session.scalar(select(func.coalesce(func.max(Theme.sort_order), 0))) + 1
        theme = Theme(sort_order=order)
        db.session.add(theme)
    theme.name, theme.first_year, theme.last_year = name, first_year, last_year
    changed = changed_attributes(theme)
    if changed:  # a new theme has every attribute changed; an unchanged form writes nothing
        db.session.flush()
        record(THEME_SAVED, actor=actor, obj=theme, fields=None if created else changed)
    return theme


def themes_in_force(start_year: int) -> list[Theme]:
    return [t for t in db.session.scalars(select(Theme).order_by(Theme.sort_order)) if t.in_force(start_year)]


def save_goal(actor, theme: Theme, kinds: list[UnitKind], first_year: int, last_year: int | None,
              goal: CoverageGoal | None = None) -> CoverageGoal:
    """Add or change a coverage goal: which schools' identified students must attend the theme, from when."""
    if not kinds or any(not kind.is_school for kind in kinds):
        raise DomainError(_("请选择学校类型。"), field="unit_kinds")
    EffectiveYearsMixin.check_years(first_year, last_year, field="last_year")
    created = goal is None
    if created:
        goal = CoverageGoal()
        db.session.add(goal)
    goal.theme_id, goal.unit_kinds = theme.id, ",".join(kinds)
    goal.first_year, goal.last_year = first_year, last_year
    changed = changed_attributes(goal)
    if changed:
        db.session.flush()
        record(GOAL_SAVED, actor=actor, obj=goal, fields=None if created else changed)
    return goal


def goals_in_force(start_year: int) -> list[CoverageGoal]:
    """The coverage goals of an academic year, in theme order."""
    return list(db.session.scalars(
        select(CoverageGoal).join(Theme).where(CoverageGoal.in_force_clause(start_year))
        .order_by(Theme.sort_order, CoverageGoal.id)))


# --- activities --------------------------------------------------------------------------------------------

@dataclass
class Organiser:
    """Who organises an activity: a unit, or a college or club of a school."""

    unit: Unit
    college: College | None = None
    club: Club | None = None


@dataclass
class ActivityData:
    organiser: Organiser
    themes: list[Theme]
    title: str
    held_on: date
    starts_at: time | None = None
    place: str = ""
    summary: str = ""


def year_window(year: AcademicYear, unit: Unit | None = None) -> tuple[date, date]:
    """The days of an academic year by the unit's own terms (None: the city's default terms); see org.year_spans."""
    return org.year_spans([unit], year)[unit.id if unit is not None else None]


def year_of(unit: Unit | None, day: date) -> int:
    """The start year of the academic year `day` is in for the unit, by its own terms (org.term_on)."""
    found = org.term_on(unit, day)
    return found.year.start_year if found is not None else org.academic_year_of(day)


def closed_year_warning(held_on: date, today: date, unit: Unit | None = None) -> str | None:
    """A warning when the activity falls in an academic year already over (it still counts for that year)."""
    start_year = year_of(unit, held_on)
    if start_year < year_of(unit, today):
        label = f"{start_year}-{start_year + 1}"
        return _("活动日期在已结束的学年 %(year)s 内，将计入该学年的覆盖情况。", year=label)
    return None


def _check_activity(data: ActivityData, today: date) -> None:
    errors = ErrorCollector()
    if not data.title.strip():
        errors.errors.append(DomainError(_("请填写活动名称。"), field="title"))
    if not data.themes:
        errors.errors.append(DomainError(_("请至少选择一个主题。"), field="theme_ids"))
    start_year = year_of(data.organiser.unit, data.held_on)
    stale = [t.name for t in data.themes if not t.in_force(start_year)]
    if stale:
        errors.errors.append(DomainError(_("主题“%(names)s”在该学年不适用。", names="、".join(stale)),
                                         field="theme_ids"))
    if data.held_on > today + timedelta(days=366):
        errors.errors.append(DomainError(_("活动日期太远了，请检查。"), field="held_on"))
    if errors.errors:
        raise DomainErrors(errors.errors) if len(errors.errors) > 1 else errors.errors[0]


def save_activity(actor, data: ActivityData, today: date, activity: Activity | None = None
                  ) -> tuple[Activity, list[str]]:
    """Record an activity or change one; returns it with warnings (a date in a closed year)."""
    _check_activity(data, today)
    created = activity is None
    if created:
        activity = Activity(created_by_id=getattr(actor, "id", None))
        db.session.add(activity)
    organiser = data.organiser
    activity.unit_id = organiser.unit.id
    activity.college_id = organiser.college.id if organiser.college else None
    activity.club_id = organiser.club.id if organiser.club else None
    activity.title, activity.held_on, activity.starts_at = data.title.strip()[:200], data.held_on, data.starts_at
    activity.place, activity.summary = data.place.strip()[:200] or None, data.summary.strip() or None
    activity.themes = list(data.themes)
    changed = changed_attributes(activity)
    if created or changed:
        db.session.flush()
        record(ACTIVITY_CREATED if created else ACTIVITY_UPDATED, actor=actor, obj=activity,
               unit_id=activity.unit_id, fields=None if created else changed)
    warning = closed_year_warning(data.held_on, today, organiser.unit)
    return activity, [warning] if warning else []


def organiser_for(kind: str, target) -> Organiser:
    """The organiser of a unit, college or club (as picked in the form or named on the command line)."""
    if kind == "college":
        return Organiser(unit=target.school, college=target)
    if kind == "club":
        return Organiser(unit=target.school, club=target)
    return Organiser(unit=target)


def _photo_names() -> set[str]:
    return set(db.session.scalars(select(ActivityPhoto.stored_name)))


# An activity's photos: checked by content, stored (0600) and swept by core.uploads, as attachments are.
PHOTOS = uploads.register(uploads.UploadKind(
    folder="activity_photos", types=uploads.IMAGES, field="photo", too_big=N_("照片不能超过 %(mb)d MB。"),
    wrong_type=N_("照片只能是 JPG 或 PNG 图片。"), referenced=_photo_names))


def add_photo(actor, activity: Activity, filename: str, content: bytes, folder, max_bytes: int) -> ActivityPhoto:
    """Keep a photo of an activity, after checking its size and that it really is a JPG or PNG image."""
    stored = uploads.store(PHOTOS, content, max_bytes, folder)
    photo = ActivityPhoto(filename=Path(filename or "照片").name[:200], stored_name=stored.stored_name,
                          content_type=stored.content_type, size=stored.size)
    activity.photos.append(photo)
    db.session.flush()
    record(PHOTO_ADDED, actor=actor, obj=photo, unit_id=activity.unit_id)
    return photo


# --- attendance --------------------------------------------------------------------------------------------

def reach_clause(activity: Activity):
    """The students an activity's organiser reaches: a club's members, a college's students, a unit's schools'."""
    if activity.club_id is not None:
        return Student.id.in_(select(club_members.c.student_id).where(club_members.c.club_id == activity.club_id))
    if activity.college_id is not None:
        return Student.college_id == activity.college_id
    if activity.unit.is_school:
        return Student.school_id == activity.unit_id
    return Student.school_id.in_(unit_subtree_ids([activity.unit_id]))


def check_reach(activity: Activity, students: list[Student]) -> None:
    """Refuse students outside the organiser's reach, naming them."""
    ids = {s.id for s in students}
    inside = set(db.session.scalars(select(Student.id).where(Student.id.in_(ids), reach_clause(activity)))) if ids \
        else set()
    outside = [s for s in students if s.id not in inside]
    if outside:
        names = "、".join(f"{s.name}（{s.student_no}）" for s in outside[:20])
        raise DomainError(_("以下学生不在本活动组织方的范围内，未记录任何签到：%(names)s。", names=names),
                          field="student_nos")


@dataclass
class AttendanceCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def present(self) -> int:
        return self.created + self.updated + self.unchanged


def record_attendance(actor, activity: Activity, expected: list[Student], present_ids: set[int]
                      ) -> AttendanceCounts:
    """Put the expected students on the sheet, present when in `present_ids`, absent otherwise (set-based)."""
    check_reach(activity, expected)
    counts = AttendanceCounts()
    current = {row.student_id: row for row in db.session.scalars(select(Attendance).where(
        Attendance.activity_id == activity.id, Attendance.student_id.in_([s.id for s in expected])))}
    for student in expected:
        present = student.id in present_ids
        row = current.get(student.id)
        if row is None:
            db.session.add(Attendance(activity_id=activity.id, student_id=student.id, is_present=present))
            counts.created += 1
        elif row.is_present != present:
            row.is_present = present
            counts.updated += 1
        else:
            counts.unchanged += 1
    db.session.flush()
    if counts.created or counts.updated:
        record(ATTENDANCE_RECORDED, actor=actor, obj=activity, unit_id=activity.unit_id,
               detail=f"created:{counts.created} updated:{counts.updated}")
    return counts


STUDENT_NO_SPLIT = re.compile(r"[\s,，;；、]+")


def students_by_number(activity: Activity, text: str) -> list[Student]:
    """The students a pasted list of 学号 names (one per line; "单位代码 学号" for organisers above one school).

    Unknown numbers are refused with their line; a number given twice counts once. Nothing is written here.
    """
    single_school = activity.unit.is_school
    wanted: list[tuple[int, str | None, str]] = []
    for line_no, line in enumerate((text or "").splitlines(), start=1):
        parts = [p for p in STUDENT_NO_SPLIT.split(line.strip()) if p]
        if not parts:
            continue
        if single_school:
            wanted.extend((line_no, None, part) for part in parts)
        elif len(parts) == 2:
            wanted.append((line_no, parts[0], parts[1]))
        else:
            raise DomainError(_("第 %(line)d 行：请写“单位代码 学号”。", line=line_no), field="student_nos")
    if not wanted:
        raise DomainError(_("请粘贴学号，每行一个。"), field="student_nos")
    found = _find_students(activity, {(code, no) for _line, code, no in wanted})
    unknown = [_("第 %(line)d 行 %(no)s", line=line, no=no) for line, code, no in wanted if (code, no) not in found]
    if unknown:
        raise DomainError(_("以下学号不存在，未记录任何签到：%(list)s。", list="、".join(unknown[:20])),
                          field="student_nos")
    unique: dict[int, Student] = {}
    for _line, code, no in wanted:
        student = found[(code, no)]
        unique.setdefault(student.id, student)
    return list(unique.values())


def _find_students(activity: Activity, keys: set[tuple[str | None, str]]) -> dict[tuple[str | None, str], Student]:
    """Students by (单位代码 or None for the activity's school, 学号), in one query."""
    numbers = {no for _code, no in keys}
    statement = select(Student, Unit.code).join(Unit, Unit.id == Student.school_id).where(
        Student.student_no.in_(numbers))
    if activity.unit.is_school:
        statement = statement.where(Student.school_id == activity.unit_id)
    found = {}
    for student, code in db.session.execute(statement):
        key = (None if activity.unit.is_school else code, student.student_no)
        if key in keys:
            found[key] = student
    return found


# --- club members proposed by the leader -------------------------------------------------------------------

def propose_member(actor, club: Club, student: Student) -> ClubProposal:
    """A club leader proposes a student of the club's school; the school aid officer approves."""
    check_joinable(club.school_id, club.members, student)
    pending = db.session.scalar(select(ClubProposal.id).where(
        ClubProposal.club_id == club.id, ClubProposal.student_id == student.id,
        ClubProposal.status == ProposalStatus.PENDING))
    if pending is not None:
        raise DomainError(_("%(name)s 已在待审核名单中。", name=student.name), field="student_no")
    proposal = ClubProposal(club_id=club.id, student_id=student.id, proposed_by_id=getattr(actor, "id", None))
    db.session.add(proposal)
    db.session.flush()
    record(MEMBER_PROPOSED, actor=actor, obj=club, unit_id=club.school_id, detail=f"student:{student.id}")
    return proposal


def decide_proposal(actor, proposal: ClubProposal, approve: bool) -> None:
    if proposal.status != ProposalStatus.PENDING:
        raise DomainError(_("这项推荐已经审核过了。"))
    proposal.status = ProposalStatus.APPROVED if approve else ProposalStatus.REJECTED
    proposal.decided_by_id = getattr(actor, "id", None)
    if approve and proposal.student not in proposal.club.members:
        add_member(actor, proposal.club, proposal.student)
    db.session.flush()
    record(PROPOSAL_DECIDED, actor=actor, obj=proposal.club, unit_id=proposal.club.school_id,
           detail=f"student:{proposal.student_id} {proposal.status}")


# --- exemplary students ------------------------------------------------------------------------------------

ADULT_AGE = 18


def is_minor(student: Student, on: date) -> bool:
    """Under 18 on the day (a student without a birth date counts as a minor: ask the guardian)."""
    birth = student.birth_date
    if birth is None:
        return True
    return (on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))) < ADULT_AGE


def nominate(actor, student: Student, story: str) -> Exemplar:
    story = (story or "").strip()
    if not story:
        raise DomainError(_("请写下推荐事迹。"), field="story")
    if db.session.scalar(select(Exemplar.id).where(Exemplar.student_id == student.id)) is not None:
        raise DomainError(_("%(name)s 已被推荐为优秀典型。", name=student.name), field="student_no")
    exemplar = Exemplar(student_id=student.id, school_id=student.school_id, story=story,
                        nominated_by_id=getattr(actor, "id", None))
    db.session.add(exemplar)
    db.session.flush()
    record(EXEMPLAR_NOMINATED, actor=actor, obj=exemplar, unit_id=student.school_id)
    return exemplar


def approve_exemplar(actor, exemplar: Exemplar) -> None:
    exemplar.status, exemplar.approved_by_id = ExemplarStatus.APPROVED, getattr(actor, "id", None)
    db.session.flush()
    record(EXEMPLAR_APPROVED, actor=actor, obj=exemplar, unit_id=exemplar.school_id)


def record_consent(actor, exemplar: Exemplar, on: date, guardian_name: str = "") -> None:
    """The consent to publish: the student's own, or for a minor a guardian's (named)."""
    guardian_name = (guardian_name or "").strip()
    if is_minor(exemplar.student, on) and not guardian_name:
        raise DomainError(_("学生未满 18 岁，须由监护人同意，请填写监护人姓名。"), field="guardian_name")
    exemplar.consent_by, exemplar.consent_on = guardian_name or None, on  # None: the student's own
    db.session.flush()
    record(EXEMPLAR_CONSENT, actor=actor, obj=exemplar, unit_id=exemplar.school_id)


def publish_exemplar(actor, exemplar: Exemplar) -> None:
    """Publish name and story: only approved, and only with a recorded consent."""
    if exemplar.status != ExemplarStatus.APPROVED:
        raise DomainError(_("优秀典型须先经学校资助中心审定。"))
    if exemplar.consent_on is None:
        raise DomainError(_("公开姓名和事迹前须记录本人（未成年人为监护人）的同意。"))
    exemplar.is_published = True
    db.session.flush()
    record(EXEMPLAR_PUBLISHED, actor=actor, obj=exemplar, unit_id=exemplar.school_id)


def add_talk(actor, exemplar: Exemplar, held_on: date, audience: str, note: str = "") -> ExemplarTalk:
    audience = (audience or "").strip()
    if not audience:
        raise DomainError(_("请填写宣讲的学校或对象。"), field="audience")
    talk = ExemplarTalk(held_on=held_on, audience=audience[:200], note=(note or "").strip() or None)
    exemplar.talks.append(talk)
    db.session.flush()
    record(EXEMPLAR_TALK, actor=actor, obj=exemplar, unit_id=exemplar.school_id)
    return talk


# --- inviting the unreached --------------------------------------------------------------------------------

@dataclass
class InviteResult:
    notified: int = 0  # notifications newly put in an inbox
    students: int = 0  # students someone was told about
    without_contact: list[Student] | None = None


def invite_unreached(actor, goal: CoverageGoal, year_label: str, students: list[Student],
                     contacts: dict[int, list[int]]) -> InviteResult:
    """Tell each unreached student's class teachers and counselors to invite them; once per student and goal.

    The key names the goal, the year and the student, so a second invitation (a double click, a rerun) sends
    nothing twice.
    """
    from caretrack.notify.services import notify

    result = InviteResult(without_contact=[])
    for student in students:
        users = contacts.get(student.id, [])
        if not users:
            result.without_contact.append(student)
            continue
        result.students += 1
        subject = _("请邀请 %(name)s 参加%(theme)s活动（%(year)s 学年尚未参加）", name=student.name,
                    theme=goal.theme.name, year=year_label)
        for user_id in users:
            created = notify(user_id, f"activities.invite:{goal.id}:{year_label}:{student.id}", subject,
                             link=f"/students/{student.id}")
            result.notified += created is not None
    record(UNREACHED_INVITED, actor=actor, obj=goal, detail=f"{year_label} students:{result.students}")
    return result
