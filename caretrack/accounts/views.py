"""Login, logout, password change and user administration."""

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from caretrack.accounts import bp, queries, services
from caretrack.accounts.forms import ChangePasswordForm, CreateUserForm, GrantRoleForm, LoginForm, UserFilterForm
from caretrack.accounts.models import RoleAssignment
from caretrack.audit.services import AuditAction, record
from caretrack.core.access import Permission, Role, ScopeType, permission_required
from caretrack.core.errors import DomainError, Forbidden
from caretrack.core.pagination import paginate
from caretrack.core.security import start_session
from caretrack.core.web import local_target
from caretrack.extensions import db


def _safe_next(target: str | None) -> str:
    """Only follow redirects to our own paths."""
    return local_target(target, url_for("dashboard.home"))


def _lockout_policy() -> services.LockoutPolicy:
    return services.LockoutPolicy(current_app.config["LOGIN_MAX_FAILURES"], current_app.config["LOGIN_LOCKOUT"])


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    form = LoginForm(next=request.args.get("next"))
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.username.data, form.password.data, g.client_address, _lockout_policy())
        except services.LoginRefused as refused:
            db.session.commit()  # the failed attempt and its audit row must be kept
            form.form_errors.append(refused.message)
            status = 401
        else:
            db.session.commit()
            start_session(user)
            login_user(user)
            return redirect(_safe_next(form.next.data))
    elif form.is_submitted():
        status = 400
    return render_template("accounts/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    record(AuditAction.LOGOUT, actor=current_user._get_current_object(), obj=current_user._get_current_object())
    db.session.commit()
    logout_user()
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
            db.session.commit()
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


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
@permission_required(Permission.USERS_MANAGE)
def create_user():
    form = CreateUserForm(grantable=services.grantable_roles(current_user))
    if form.validate_on_submit():
        try:
            user, password = _create_user_with_role(form)
        except (DomainError, Forbidden) as error:
            db.session.rollback()
            form.add_domain_error(error)
        else:
            db.session.commit()
            flash(_("用户 %(name)s 已创建，初始密码：%(password)s（仅显示这一次，首次登录须修改）",
                    name=user.username, password=password), "success")
            return redirect(url_for("accounts.show_user", user_id=user.id))
    return render_template("accounts/user_new.html", form=form), 400 if form.errors else 200


def _create_user_with_role(form: CreateUserForm):
    scope_type = ScopeType(form.scope_type.data)
    target = services.resolve_scope(scope_type, form.scope.data)
    user, password = services.create_user(current_user, username=form.username.data,
                                          display_name=form.display_name.data,
                                          mobile=form.mobile.data, email=form.email.data)
    services.grant_role(current_user, user, Role(form.role.data), scope_type, target)
    return user, password


def _load_user_or_404(user_id: int):
    user = queries.get_manageable_user(current_user, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<int:user_id>")
@login_required
@permission_required(Permission.USERS_MANAGE)
def show_user(user_id: int):
    user = _load_user_or_404(user_id)
    grant_form = GrantRoleForm(grantable=services.grantable_roles(current_user))
    return render_template("accounts/user.html", user=user, grant_form=grant_form,
                           scope_names=queries.describe_scopes(user.role_assignments))


@bp.route("/users/<int:user_id>/roles", methods=["POST"])
@login_required
@permission_required(Permission.USERS_MANAGE)
def grant_role(user_id: int):
    user = _load_user_or_404(user_id)
    form = GrantRoleForm(grantable=services.grantable_roles(current_user))
    if form.validate_on_submit():
        try:
            scope_type = ScopeType(form.scope_type.data)
            services.grant_role(current_user, user, Role(form.role.data), scope_type,
                                services.resolve_scope(scope_type, form.scope.data))
        except Forbidden:
            abort(403)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            db.session.commit()
            flash(_("已授予角色。"), "success")
            return redirect(url_for("accounts.show_user", user_id=user.id))
    db.session.rollback()
    return render_template("accounts/user.html", user=user, grant_form=form,
                           scope_names=queries.describe_scopes(user.role_assignments)), 400


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
    db.session.commit()
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
        flash(error.message, "danger")
        return redirect(url_for("accounts.show_user", user_id=user.id))
    db.session.commit()
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
    db.session.commit()
    flash(_("已重置 %(name)s 的密码，新的初始密码：%(password)s（仅显示这一次）", name=user.username,
            password=password), "success")
    return redirect(url_for("accounts.show_user", user_id=user.id))
