"""The audit log as sentences: "张老师 记录了 王小明 的谈心谈话", in the reader's language.

The log (services.py) stays below every domain and stores ids only. The viewer names what the ids point at: it
reads the domains' tables through the resolvers they register (register_describer), one query per kind of
object on the page, whatever the number of rows (no N+1).
It never shows confidential content (a record's kind, never its text) nor an ID number.
"""

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from caretrack.audit.models import AuditEvent
from caretrack.audit.services import ACTION_LABELS
from caretrack.core.choices import N_
from caretrack.core.i18n import is_chinese
from caretrack.extensions import db


@dataclass(frozen=True)
class Subject:
    """What an event is about: its kind, its own name, and whose it is (a student's or a unit's)."""

    kind: str
    name: str | None = None
    owner: str | None = None


# "%(actor)s" did "%(object)s"; "%(other)s" is a second person named in the event (who joined a list).
SENTENCES = {
    "login": N_("%(actor)s 登录了系统"),
    "login_failed": N_("%(actor)s 登录失败"),
    "locked_out": N_("%(actor)s 的登录已被锁定"),
    "logout": N_("%(actor)s 退出了登录"),
    "session_expired": N_("%(actor)s 的会话已结束"),
    "password_changed": N_("%(actor)s 修改了自己的密码"),
    "password_reset": N_("%(actor)s 重置了 %(object)s 的密码"),
    "user_created": N_("%(actor)s 创建了 %(object)s"),
    "user_updated": N_("%(actor)s 修改了 %(object)s"),
    "user_deactivated": N_("%(actor)s 停用了 %(object)s"),
    "user_reactivated": N_("%(actor)s 启用了 %(object)s"),
    "role_granted": N_("%(actor)s 授予 %(object)s 角色"),
    "role_revoked": N_("%(actor)s 撤销了 %(object)s 的角色"),
    "unit_created": N_("%(actor)s 创建了 %(object)s"),
    "unit_updated": N_("%(actor)s 修改了 %(object)s"),
    "college_created": N_("%(actor)s 添加了 %(object)s"),
    "class_created": N_("%(actor)s 添加了 %(object)s"),
    "term_dates_set": N_("%(actor)s 设置了 %(object)s"),
    "import": N_("%(actor)s 导入了 %(object)s"),
    "aid_project_created": N_("%(actor)s 新增了 %(object)s"),
    "aid_project_updated": N_("%(actor)s 修改了 %(object)s"),
    "disbursement_recorded": N_("%(actor)s 记录了 %(object)s"),
    "disbursement_updated": N_("%(actor)s 修改了 %(object)s"),
    "support_record_created": N_("%(actor)s 记录了 %(object)s"),
    "support_record_updated": N_("%(actor)s 修改了 %(object)s"),
    "restricted_record_read": N_("%(actor)s 查看了 %(object)s"),
    "ledger_entry_removed": N_("%(actor)s 删除了 %(object)s"),
    "ledger_entry_restored": N_("%(actor)s 恢复了 %(object)s"),
    "attachment_added": N_("%(actor)s 上传了 %(object)s"),
    "attachment_read": N_("%(actor)s 查看了 %(object)s"),
    "disbursements_exported": N_("%(actor)s 下载了 %(object)s"),
    "student_created": N_("%(actor)s 登记了 %(object)s"),
    "student_updated": N_("%(actor)s 修改了 %(object)s 的信息"),
    "student_moved": N_("%(actor)s 调整了 %(object)s 的班级"),
    "student_status_changed": N_("%(actor)s 变更了 %(object)s 的学籍状态"),
    "student_identified": N_("%(actor)s 认定了 %(object)s"),
    "id_number_revealed": N_("%(actor)s 查看了 %(object)s 的完整身份证号"),
    "students_imported": N_("%(actor)s 向 %(object)s 导入了学生名单"),
    "students_exported": N_("%(actor)s 下载了 %(object)s"),
    "caseload_created": N_("%(actor)s 建立了 %(object)s"),
    "caseload_member_added": N_("%(actor)s 把 %(other)s 加入了 %(object)s"),
    "caseload_member_removed": N_("%(actor)s 把 %(other)s 移出了 %(object)s"),
    "club_created": N_("%(actor)s 建立了 %(object)s"),
    "club_member_added": N_("%(actor)s 把 %(other)s 加入了 %(object)s"),
    "club_member_removed": N_("%(actor)s 让 %(other)s 退出了 %(object)s"),
    "followup_scheduled": N_("%(actor)s 安排了 %(object)s"),
    "followup_closed": N_("%(actor)s 完成了 %(object)s"),
    "followup_cancelled": N_("%(actor)s 取消了 %(object)s"),
    "followup_escalated": N_("%(actor)s 上报了逾期的 %(object)s"),
    "cadence_rule_saved": N_("%(actor)s 修改了 %(object)s"),
    "screening_run": N_("%(actor)s 运行了 %(object)s"),
    "screening_case_updated": N_("%(actor)s 填写了 %(object)s"),
    "screening_case_closed": N_("%(actor)s 关闭了 %(object)s"),
    "screening_table_submitted": N_("%(actor)s 报送了 %(object)s"),
    "screening_rule_saved": N_("%(actor)s 修改了 %(object)s"),
    "screening_table_exported": N_("%(actor)s 下载了 %(object)s"),
    "webhook_added": N_("%(actor)s 添加了 %(object)s"),
    "webhook_disabled": N_("%(actor)s 停用了 %(object)s"),
}

# An action done to a whole file rather than to one row (an import of payments).
LIST_SENTENCES = {"disbursement_recorded": N_("%(actor)s 导入了 %(object)s")}
# How a row with a name of its own is called, by table.
NAMED = {
    "users": N_("用户 %(name)s"), "units": N_("单位 %(name)s"), "colleges": N_("学院（系）%(name)s"),
    "classes": N_("班级 %(name)s"), "students": N_("学生 %(name)s"), "caseloads": N_("名单 %(name)s"),
    "clubs": N_("自强社 %(name)s"), "aid_projects": N_("资助项目 %(name)s"), "cadence_rules": N_("走访要求 %(name)s"),
    "screening_rules": N_("排查规则 %(name)s"),
}
# Rows that belong to the event's unit rather than having a name of their own.
UNIT_OWNED = {"terms": N_("学期日期"), "screening_runs": N_("排查"), "table_submissions": N_("排查统计表"),
              "webhook_targets": N_("群机器人"), "jobs": N_("导入任务")}
# An event about a whole list (an export) has no id.
WHOLE_LISTS = {"students": N_("学生名单"), "disbursements": N_("发放记录")}

FIELD_LABELS = {
    "name": N_("姓名"), "student_no": N_("学号"), "gender": N_("性别"), "birth_date": N_("出生日期"),
    "id_number": N_("身份证号"), "school_id": N_("学校"), "college_id": N_("学院（系）"), "class_id": N_("班级"),
    "stage": N_("学段"), "enrolment_year": N_("入学年份"), "is_boarder": N_("是否寄宿"), "hukou": N_("户口类型"),
    "guardian": N_("监护人"), "status": N_("学籍状态"), "categories": N_("困难类型"), "level": N_("困难等级"),
    "decided_on": N_("认定日期"), "created": N_("新认定"), "is_registered_poverty": N_("是否建档立卡家庭"),
    "is_martyr_child": N_("是否烈士子女"), "is_disaster": N_("是否遭遇自然灾害或突发事件"),
    "is_disabled": N_("是否残疾"), "evidence": N_("认定依据"), "project_id": N_("资助项目"), "grade": N_("档次"),
    "amount": N_("金额"), "paid_on": N_("发放日期"), "academic_year_id": N_("学年"), "term": N_("学期"),
    "voucher": N_("凭证号"), "student_id": N_("学生"), "kind": N_("类型"), "happened_on": N_("日期"),
    "summary": N_("内容"), "outcome": N_("结果"), "next_step": N_("下一步"), "next_step_due": N_("下一步期限"),
    "tier": N_("保密级别"), "hours": N_("时长"), "pay": N_("报酬"), "post": N_("岗位"),
    "delete_reason": N_("删除原因"), "reason": N_("原因"), "remedy": N_("解决措施"), "deadline": N_("时限"),
    "owner_id": N_("负责人"), "username": N_("用户名"), "display_name": N_("显示名称"), "mobile": N_("手机"),
    "email": N_("电子邮箱"), "code": N_("单位代码"), "kind_of_unit": N_("单位类型"), "parent_id": N_("上级单位"),
    "owner_type": N_("举办者"), "stages": N_("学段"), "starts_on": N_("开始日期"), "ends_on": N_("结束日期"),
    "unit_kind": N_("单位类型"), "phone": N_("电话"),
}

TABLE_FIELD_LABELS = {"units": {"name": N_("名称"), "kind": N_("单位类型")}, "users": {"name": N_("显示名称")}}
# Actions whose sentence already says what changed, or that create the whole row.
QUIET_FIELDS = {"user_created", "unit_created", "student_moved", "student_status_changed", "term_dates_set",
                "ledger_entry_removed", "student_identified"}


def _rows(statement) -> list:
    return list(db.session.execute(statement))


Resolver = Callable[[set[int]], dict[int, Subject]]
# For each table the log points at: ids -> Subject, one query. Each domain registers its own tables' resolvers
# (its audit_names.py, imported by its package), so the log's viewer imports no domain.
_RESOLVERS: dict[str, Resolver] = {}


def register_describer(table: str, resolve: Resolver) -> None:
    """Name the rows of `table` in the log: `resolve(ids)` gives {id: Subject} in one query.

    A domain adds, in its `audit_names.py` (imported from its `__init__.py`):

        register_describer("duties", named(Duty, Duty.name))

    and, for a row named by its kind, its student or its unit, a function building the Subjects itself. The
    sentence of an action goes into SENTENCES, the kind of a named row into NAMED (message ids).
    """
    _RESOLVERS[table] = resolve


def named(model, column) -> Resolver:
    """A resolver of rows with a name of their own (`column`), their kind being their table."""
    def resolve(ids):
        table = model.__tablename__
        return {i: Subject(table, name) for i, name in _rows(select(model.id, column).where(model.id.in_(ids)))}
    return resolve


def _resolvers() -> dict[str, Resolver]:
    return _RESOLVERS


# Details that name another row, as "student:12", "class:3", "record:7", "disbursement:9".
_REFERENCE = re.compile(r"^(student|class|record|disbursement):(\d+)$")
_REFERENCE_TABLES = {"student": "students", "class": "classes", "record": "support_records",
                     "disbursement": "disbursements"}
_ROLE = re.compile(r"^(\w+)@(\w+):(\d+)$")
_SCOPE_TABLES = {"unit": "units", "college": "colleges", "class": "classes", "caseload": "caseloads", "club": "clubs"}


def _wanted(events: list[AuditEvent]) -> dict[str, set[int]]:
    """Every (table, id) the page's events name: their objects, actors, units and the rows their details name."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for event in events:
        if event.object_type and event.object_id is not None:
            wanted[event.object_type].add(event.object_id)
        if event.user_id:
            wanted["users"].add(event.user_id)
        if event.unit_id:
            wanted["units"].add(event.unit_id)
        reference = _REFERENCE.match(event.detail or "")
        if reference:
            wanted[_REFERENCE_TABLES[reference[1]]].add(int(reference[2]))
        role = _ROLE.match(event.detail or "")
        if role and role[2] in _SCOPE_TABLES:
            wanted[_SCOPE_TABLES[role[2]]].add(int(role[3]))
    return wanted


def _phrase(event: AuditEvent, subject: Subject | None) -> str:
    """The object of the sentence: "王小明 的谈心谈话", "用户 张老师", "学生名单"."""
    if subject is not None and subject.owner:
        return _("%(owner)s 的%(kind)s", owner=subject.owner, kind=_mid_sentence(subject.kind))
    if subject is not None:
        return _(NAMED[subject.kind], name=subject.name)
    if event.object_id is None:
        return _(WHOLE_LISTS.get(event.object_type or "", N_("记录")))
    template = NAMED.get(event.object_type or "", N_("记录 %(name)s"))
    return _(template, name="#%d" % event.object_id)


def _mid_sentence(label: str) -> str:
    """English labels are capitalised as headings ("Home visit"); inside a sentence they are not."""
    if is_chinese() or len(label) < 2 or not label[1].islower():
        return label
    return label[0].lower() + label[1:]


def _extra(event: AuditEvent, known: dict[str, dict[int, Subject]]) -> str:
    """What the detail and the changed fields add, in words; nothing raw."""
    from caretrack.core.access import Role

    parts = []
    detail = event.detail or ""
    role = _ROLE.match(detail)
    if role and role[1] in Role._value2member_map_:
        scope = known.get(_SCOPE_TABLES.get(role[2], ""), {}).get(int(role[3]))
        parts.append(_("%(role)s，范围：%(scope)s", role=Role(role[1]).label, scope=scope.name if scope else "—"))
    reference = _REFERENCE.match(detail)
    if reference and reference[1] == "class":
        target = known["classes"].get(int(reference[2]))
        parts.append(_("调至 %(name)s", name=target.name if target else "—"))
    if reference and reference[1] in ("record", "disbursement"):
        target = known[_REFERENCE_TABLES[reference[1]]].get(int(reference[2]))
        if target:
            parts.append(_("由 %(record)s 完成", record=target.kind))
    rows = re.search(r"rows=(\d+)", detail)
    if rows:
        parts.append(_("%(n)s 行", n=rows[1]))
    if "full_ids=True" in detail:
        parts.append(_("含完整身份证号"))
    created = re.search(r"created (\d+)", detail)
    if created:
        parts.append(_("新增 %(n)s 条", n=created[1]))
    run = re.match(r"^(\d{4}-\d{4})/(\d)(?:: (\d+))?(?: v(\d+))?$", detail)
    if run:
        parts.append(_("%(year)s 学年第 %(term)s 学期", year=run[1], term=run[2]))
        if run[3] is not None:
            parts.append(_("发现 %(n)s 条", n=run[3]))
    if event.action not in QUIET_FIELDS and event.fields:
        labels = {**FIELD_LABELS, **TABLE_FIELD_LABELS.get(event.object_type or "", {})}
        names = [_(labels[f]) for f in event.fields if f in labels]
        if names:
            parts.append(_("修改：%(fields)s", fields=_("、").join(names)))
    return _("（%(details)s）", details=_("；").join(parts)) if parts else ""


def _actor(event: AuditEvent, users: dict[int, Subject]) -> str:
    if event.user_id and event.user_id in users:
        return users[event.user_id].name
    return event.username or _("系统")


def describe(events: Iterable[AuditEvent]) -> dict[int, str]:
    """The sentence of each event by id: a query per kind of object named on the page, none per event."""
    events = list(events)
    resolvers = _resolvers()
    known = {table: resolvers[table](ids) if table in resolvers else {} for table, ids in _wanted(events).items()}
    for table in ("users", "classes", "students", "units"):
        known.setdefault(table, {})
    sentences = {}
    for event in events:
        subject = known.get(event.object_type or "", {}).get(event.object_id)
        if event.object_type in UNIT_OWNED and event.unit_id in known["units"]:
            subject = Subject(_(UNIT_OWNED[event.object_type]), owner=known["units"][event.unit_id].name)
        other = _REFERENCE.match(event.detail or "")
        other_name = known["students"].get(int(other[2])) if other and other[1] == "student" else None
        template = (LIST_SENTENCES.get(event.action) if event.object_id is None else None) or \
            SENTENCES.get(event.action)
        values = {"actor": _actor(event, known["users"]), "object": _phrase(event, subject),
                  "other": other_name.name if other_name else _("一名学生")}
        text = _(template, **values) if template else \
            _("%(actor)s：%(action)s", actor=values["actor"], action=_(ACTION_LABELS.get(event.action, N_("操作"))))
        sentences[event.id] = text + _extra(event, known)
    return sentences
