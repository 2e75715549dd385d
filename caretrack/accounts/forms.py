"""Forms for login, password change and user administration."""

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField, validators

from caretrack.core.access import SCOPE_MODELS, Role, ScopeType
from caretrack.core.forms import BaseForm, length, required


class LoginForm(BaseForm):
    username = StringField(_l("用户名"), [required(), length(50)])
    password = PasswordField(_l("密码"), [required(), length(200)])
    next = HiddenField()


class ChangePasswordForm(BaseForm):
    current_password = PasswordField(_l("当前密码"), [required()])
    new_password = PasswordField(_l("新密码"), [required(), length(200)])
    confirm_password = PasswordField(
        _l("确认新密码"), [required(), validators.EqualTo("new_password", message=_l("两次输入的新密码不一致。"))]
    )


class UserProfileForm(BaseForm):
    display_name = StringField(_l("姓名"), [required(), length(50)])
    mobile = StringField(_l("手机号"), [validators.Optional(), validators.Regexp(
        r"^1\d{10}$", message=_l("请输入11位手机号。"))])
    email = EmailField(_l("电子邮箱"), [validators.Optional(), validators.Email(message=_l("电子邮箱格式不正确。")),
                                     length(120)])


class GrantRoleForm(BaseForm):
    role = SelectField(_l("角色"), choices=[], validators=[required()])
    scope_type = SelectField(_l("范围类型"), choices=[], validators=[required()])
    scope = StringField(_l("范围"), [required(), length(20)],
                        description=_l("单位填单位代码；学院（系）、班级和名单填其编号（在单位页面和名单页面上可见）。"))

    def __init__(self, *args, grantable: frozenset[Role] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the roles the administrator may grant, the least powerful first, so the default harms no one.
        offered = [role for role in reversed(Role) if grantable is None or role in grantable]
        self.role.choices = [(role.value, role.label) for role in offered]
        self.scope_type.choices = [(t.value, t.label) for t in ScopeType if t in SCOPE_MODELS]


class CreateUserForm(UserProfileForm, GrantRoleForm):
    username = StringField(_l("用户名"), [required(), length(50, 3), validators.Regexp(
        r"^[A-Za-z0-9_.-]+$", message=_l("用户名只能包含字母、数字、下划线、点和连字符。"))])



class UserFilterForm(BaseForm):
    class Meta:
        csrf = False

    q = StringField(_l("用户名或姓名"))
    role = SelectField(_l("角色"), choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = [("", _l("全部角色")), *Role.choices()]
