"""Login, logout, password change and user administration."""

import time

from flask import abort, current_app, flash, g, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from caretrack.accounts import bp, queries, services
from caretrack.accounts.forms import ChangePasswordForm, CreateUserForm, GrantRoleForm, LoginForm, UserFilterForm
from caretrack.accounts.models import RoleAssignment
from caretrack.accounts.sessions import end_session, limiter, start_session
from caretrack.audit.services import AuditAction, record
from caretrack.core import requests
from caretrack.core.access import Permission, Role, ScopeType, permission_required
from caretrack.core.errors import DomainError, Forbidden
from caretrack.core.pagination import paginate
from caretrack.core.web import local_target
from caretrack.extensions import db


def _safe_next(target: str | None) -> str:
    """Only follow redirects to our own paths."""
    return local_target(target, url_for("dashboard.home"))


def _throttle_policy() -> services.ThrottlePolicy:
    config = current_app.config
    return services.ThrottlePolicy(config["LOGIN_MAX_FAILURES"], config["LOGIN_FAILURE_WINDOW"],
                                   config["LOGIN_MAX_DELAY"])


def _address_limit() -> str:
    return current_app.config["LOGIN_ADDRESS_LIMIT"]


def _is_failed_login(response) -> bool:
    """Only refused logins count against an address: a school's whole staff may log in through one."""
    return response.status_code in (401, 429)


def _address_throttled(limit):
    """The login page saying to wait, for an address that has failed too often."""
    form = LoginForm(next=request.args.get("next"))
    form.form_errors.append(_("该网络地址登录失败次数过多，请稍后再试。"))
    response = make_response(render_template("accounts/login.html", form=form), 429)
    response.headers["Retry-After"] = str(max(1, int(limit.reset_at - time.time())))
    return response


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"], deduct_when=_is_failed_login, on_breach=_address_throttled,
               exempt_when=lambda: not _address_limit())
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    form = LoginForm(next=request.args.get("next"))
    if not form.validate_on_submit():
        return render_template("accounts/login.html", form=form), 400 if form.is_submitted() else 200
    try:
        user = services.authenticate(form.username.data, form.password.data, g.client_address, _throttle_policy())
    except services.LoginRefused as refused:
        requests.commit_anyway()  # the failed attempt and its audit row must be kept
        form.form_errors.append(refused.message)
        response = make_response(render_template("accounts/login.html", form=form), 401)
        if isinstance(refused, services.LoginThrottled):
            response.status_code = 429
            response.headers["Retry-After"] = str(int(refused.retry_after.total_seconds()) + 1)
        return response
    start_session(user)
    login_user(user)
    return redirect(_safe_next(form.next.data))


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    record(AuditAction.LOGOUT, actor=current_user._get_current_object(), obj=current_user._get_current_object())
    end_session()
    flash(_("您已安全退出。"), "success")
    return redirect(url_for("accounts.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            services.change_password(user, form.current_password.data, form.new_password.data)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            login_user(user)  # the new session token must be in this browser's session
            flash(_("密码已修改。"), "success")
            return redirect(url_for("dashboard.home"))
    return render_template("accounts/change_password.html", form=form), 400 if form.errors else 200


@bp.route("/users")
@login_required
@permission_required(Permission.USERS_MANAGE)
def list_users():
    filters = UserFilterForm(request.args)
    statement = queries.manageable_users(current_user, filters.q.data or "", filters.role.data or "")
    page = paginate(statement)
    scope_names = queries.describe_scopes([a for user in page.items for a in user.role_assignments])
    return render_template("accounts/users.html", page=page, filters=filters, scope_names=scope_names)


def _grant_form(form_class, default_unit_id: int | None):
    """A grant (or create-user) form offering the actor's units and the chosen unit's scopes.

    The unit preselected is the default given (the user's own unit) until the administrator picks another.
    """
    form = form_class(grantable=services.grantable_roles(current_user), units=queries.grant_units(current_user),
                      unit=str(default_unit_id or ""))
    form.offer_scopes(queries.scope_options(queries.grant_unit(current_user, form.unit.data), form.scope_type.data))
    return form


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
@permission_required(Permission.USERS_MANAGE)
def create_user():
    form = _grant_form(CreateUserForm, services.home_unit_id(current_user))
    if form.validate_on_submit():
        try:
            user, password = _create_user_with_role(form)
        except (DomainError, Forbidden) as error:
            form.add_domain_error(error)
        else:
            flash(_("用户 %(name)s 已创建，初始密码：%(password)s（仅显示这一次，首次登录须修改）",
                    name=user.username, password=password), "success")
            return redirect(url_for("accounts.show_user", user_id=user.id))
    return render_template("accounts/user_new.html", form=form), 400 if form.errors else 200


def _create_user_with_role(form: CreateUserForm):
    scope_type = ScopeType(form.scope_type.data)
    target = services.resolve_grant_scope(current_user, scope_type, form.unit.data, form.scope_id.data)
    user, password = services.create_user(current_user, username=form.username.data,
                                          display_name=form.display_name.data,
                                          mobile=form.mobile.data, email=form.email.data)
    services.grant_role(current_user, user, Role(form.role.data), scope_type, target)
    return user, password


@bp.route("/users/scope-options")
@login_required
@permission_required(Permission.USERS_MANAGE)
def scope_options():
    """The colleges, classes, clubs or caseloads of one unit in the actor's scope, for the grant forms' lists."""
    unit = queries.grant_unit(current_user, request.args.get("unit"))
    if unit is None:
        abort(404)
    options = queries.scope_options(unit, request.args.get("type", ""))
    return jsonify(options=[option._asdict() for option in options])


def _load_user_or_404(user_id: int):
    user = queries.get_manageable_user(current_user, user_id)
    if user is None:
        abort(404)
    return user


def _render_user(user, grant_form, status: int = 200):
    return render_template("accounts/user.html", user=user, grant_form=grant_form,
                           scope_names=queries.describe_scopes(user.role_assignments)), status


@bp.route("/users/<int:user_id>")
@login_required
@permission_required(Permission.USERS_MANAGE)
def show_user(user_id: int):
    user = _load_user_or_404(user_id)
    return _render_user(user, _grant_form(GrantRoleForm, services.home_unit_id(user)))


@bp.route("/users/<int:user_id>/roles", methods=["POST"])
@login_required
@permission_required(Permission.USERS_MANAGE)
def grant_role(user_id: int):
    user = _load_user_or_404(user_id)
    form = _grant_form(GrantRoleForm, services.home_unit_id(user))
    if form.validate_on_submit():
        try:
            scope_type = ScopeType(form.scope_type.data)
            target = services.resolve_grant_scope(current_user, scope_type, form.unit.data, form.scope_id.data)
            services.grant_role(current_user, user, Role(form.role.data), scope_type, target)
        except Forbidden:
            abort(403)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            flash(_("已授予角色。"), "success")
            return redirect(url_for("accounts.show_user", user_id=user.id))
    return _render_user(user, form, 400)


@bp.route("/users/<int:user_id>/roles/<int:assignment_id>/revoke", methods=["POST"])
@login_required
@permission_required(Permission.USERS_MANAGE)
def revoke_role(user_id: int, assignment_id: int):
    user = _load_user_or_404(user_id)
    assignment = db.session.get(RoleAssignment, assignment_id)
    if assignment is None or assignment.user_id != user.id:
        abort(404)
    try:
        services.revoke_role(current_user, assignment)
    except Forbidden:
        abort(403)
    except DomainError as error:
        requests.roll_back_anyway()
        flash(error.message, "danger")
        return redirect(url_for("accounts.show_user", user_id=user.id))
    flash(_("已撤销角色。"), "success")
    if queries.get_manageable_user(current_user, user.id) is None:
        return redirect(url_for("accounts.list_users"))  # no role left in the admin's scope: the page would 404
    return redirect(url_for("accounts.show_user", user_id=user.id))


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@login_required
@permission_required(Permission.USERS_MANAGE)
def set_active(user_id: int):
    user = _load_user_or_404(user_id)
    active = request.form.get("active") == "1"
    try:
        services.set_active(current_user, user, active)
    except DomainError as error:
        requests.roll_back_anyway()
        flash(error.message, "danger")
        return redirect(url_for("accounts.show_user", user_id=user.id))
    flash(_("账号已启用。") if active else _("账号已停用，该用户的登录将在下一次请求时结束。"), "success")
    return redirect(url_for("accounts.show_user", user_id=user.id))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@login_required
@permission_required(Permission.USERS_MANAGE)
def reset_password(user_id: int):
    user = _load_user_or_404(user_id)
    try:
        password = services.reset_password(current_user, user)
    except Forbidden:
        abort(403)
    flash(_("已重置 %(name)s 的密码，新的初始密码：%(password)s（仅显示这一次）", name=user.username,
            password=password), "success")
    return redirect(url_for("accounts.show_user", user_id=user.id))
