"""Record audit events. Called by every domain; calls none of them."""

import logging

from flask import g, has_app_context
from sqlalchemy import insert

from caretrack.audit.models import AuditEvent
from caretrack.core.choices import N_
from caretrack.core.timeutil import utcnow
from caretrack.extensions import db

log = logging.getLogger(__name__)


class AuditAction:
    """The actions the log knows, with the label the viewer shows (see ACTION_LABELS)."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOCKED_OUT = "locked_out"
    LOGOUT = "logout"
    SESSION_EXPIRED = "session_expired"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_RESET = "password_reset"
    USER_CREATED = "user_created"
    USER_UPDATED = "user_updated"
    USER_DEACTIVATED = "user_deactivated"
    USER_REACTIVATED = "user_reactivated"
    ROLE_GRANTED = "role_granted"
    ROLE_REVOKED = "role_revoked"
    UNIT_CREATED = "unit_created"
    UNIT_UPDATED = "unit_updated"
    COLLEGE_CREATED = "college_created"
    CLASS_CREATED = "class_created"
    TERM_DATES_SET = "term_dates_set"
    IMPORT = "import"
    BACKUP_WRITTEN = "backup_written"
    BACKUP_RESTORED = "backup_restored"
    KEY_ROTATION_STARTED = "key_rotation_started"
    KEY_ROTATED = "key_rotated"
    RETENTION_PURGED = "retention_purged"
    AUDIT_EXPIRED = "audit_expired"
    PERSONAL_DATA_EXPORTED = "personal_data_exported"


ACTION_LABELS = {
    AuditAction.LOGIN: N_("登录"),
    AuditAction.LOGIN_FAILED: N_("登录失败"),
    AuditAction.LOCKED_OUT: N_("登录锁定"),
    AuditAction.LOGOUT: N_("退出登录"),
    AuditAction.SESSION_EXPIRED: N_("会话超时"),
    AuditAction.PASSWORD_CHANGED: N_("修改密码"),
    AuditAction.PASSWORD_RESET: N_("重置密码"),
    AuditAction.USER_CREATED: N_("创建用户"),
    AuditAction.USER_UPDATED: N_("修改用户"),
    AuditAction.USER_DEACTIVATED: N_("停用用户"),
    AuditAction.USER_REACTIVATED: N_("启用用户"),
    AuditAction.ROLE_GRANTED: N_("授予角色"),
    AuditAction.ROLE_REVOKED: N_("撤销角色"),
    AuditAction.UNIT_CREATED: N_("创建单位"),
    AuditAction.UNIT_UPDATED: N_("修改单位"),
    AuditAction.COLLEGE_CREATED: N_("添加学院（系）"),
    AuditAction.CLASS_CREATED: N_("添加班级"),
    AuditAction.TERM_DATES_SET: N_("设置学期日期"),
    AuditAction.IMPORT: N_("导入"),
    AuditAction.BACKUP_WRITTEN: N_("备份数据"),
    AuditAction.BACKUP_RESTORED: N_("恢复备份"),
    AuditAction.KEY_ROTATION_STARTED: N_("开始更换数据密钥"),
    AuditAction.KEY_ROTATED: N_("更换数据密钥"),
    AuditAction.RETENTION_PURGED: N_("到期清除个人信息"),
    AuditAction.AUDIT_EXPIRED: N_("清除过期审计记录"),
    AuditAction.PERSONAL_DATA_EXPORTED: N_("导出学生个人数据"),
}


def register_action_labels(labels: dict[str, str]) -> None:
    """Let a domain name its own actions for the viewer (message ids, translated when shown)."""
    ACTION_LABELS.update(labels)


def record(action: str, *, actor=None, username: str | None = None, address: str | None = None,
           obj=None, object_type: str | None = None, object_id: int | None = None,
           unit_id: int | None = None, fields=None, detail: str | None = None) -> AuditEvent:
    """Append one event to the session (flushed with the caller's transaction)."""
    if address is None and has_app_context():
        # The web layer puts the client address on g; jobs and the CLI have none.
        address = g.get("client_address")
    if obj is not None:
        object_type = object_type or obj.__tablename__
        object_id = object_id if object_id is not None else obj.id
    event = AuditEvent(
        action=action,
        user_id=getattr(actor, "id", None),
        username=username or getattr(actor, "username", None),
        address=address,
        object_type=object_type,
        object_id=object_id,
        unit_id=unit_id,
        fields=sorted(fields) if fields else None,
        detail=detail,
    )
    db.session.add(event)
    log.info("audit %s user=%s %s=%s", action, event.user_id, object_type, object_id)
    return event


def record_each(action: str, *, actor, object_type: str, objects: list[tuple[int, int | None]],
                address: str | None = None) -> None:
    """Append one event per (object id, unit id), in a single statement (a page listing many records, the classes
    an import creates). Like `record`: the actor may be None (the CLI), the address defaults to the request's.
    """
    if not objects:
        return
    if address is None and has_app_context():
        address = g.get("client_address")
    user_id, username = getattr(actor, "id", None), getattr(actor, "username", None)
    db.session.execute(insert(AuditEvent), [
        {"at": utcnow(), "action": action, "user_id": user_id, "username": username, "address": address,
         "object_type": object_type, "object_id": object_id, "unit_id": unit_id}
        for object_id, unit_id in objects])
    log.info("audit %s user=%s %s x%d", action, user_id, object_type, len(objects))
