"""Forms for login, password change and user administration."""

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField, validators

from caretrack.core.access import ROLE_SCOPES, SCOPE_MODELS, Role, ScopeType
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
    """A role on a scope picked from lists: the unit first, then one of its colleges, classes, clubs or caseloads.

    The lists offer only the administrator's own scope; the service checks the submitted ids again
    (resolve_grant_scope), since a form can be tampered with.
    """

    role = SelectField(_l("角色"), choices=[], validators=[required()])
    scope_type = SelectField(_l("范围类型"), choices=[], validators=[required()], default=ScopeType.UNIT.value)
    unit = SelectField(_l("单位"), choices=[], validate_choice=False)
    scope_id = SelectField(_l("范围"), choices=[], validate_choice=False,
                           description=_l("选择单位后，从该单位的学院（系）、班级、自强社或名单中选择。"))

    def __init__(self, *args, grantable: frozenset[Role] | None = None, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Only the roles the administrator may grant, the least powerful first, so the default harms no one.
        offered = [role for role in reversed(Role) if grantable is None or role in grantable]
        self.role.choices = [(role.value, role.label) for role in offered]
        self.scope_type.choices = [(t.value, t.label) for t in ScopeType if t in SCOPE_MODELS]
        self.unit.choices = [(str(u.id), u.name_with_code) for u in units]
        # Grouped by the unit they report to, so a city's two hundred schools read district by district.
        self.unit_groups: dict[str, list[tuple[str, str]]] = {}
        for unit, choice in sorted(zip(units, self.unit.choices, strict=True),
                                   key=lambda pair: (pair[0].parent.code if pair[0].parent else "", pair[0].code)):
            self.unit_groups.setdefault(unit.parent.name if unit.parent else "", []).append(choice)

    def offer_scopes(self, options) -> None:
        """The colleges, classes, clubs or caseloads of the chosen unit, grouped (classes by college)."""
        self.scope_id.choices = [(str(option.id), option.label) for option in options]
        self.scope_groups: dict[str, list[tuple[str, str]]] = {}
        for option in options:
            self.scope_groups.setdefault(option.group, []).append((str(option.id), option.label))

    @property
    def role_scopes(self) -> dict[str, list[str]]:
        """For the page's script: the scope types each offered role may be granted on."""
        return {value: sorted(ROLE_SCOPES[Role(value)]) for value, _label in self.role.choices}


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
