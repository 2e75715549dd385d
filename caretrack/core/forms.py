"""The base form and field helpers every domain's forms use."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, IntegerField, validators


class BaseForm(FlaskForm):
    """A CSRF-protected form whose validator messages are Chinese first."""

    class Meta:
        locales = ["zh_CN", "en"]

    def add_domain_error(self, error) -> None:
        """Put each error of a service's DomainError(s) on the field it names, or on the whole form."""
        for one in error.errors:
            field = getattr(self, one.field, None) if one.field else None
            if field is None:
                self.form_errors.append(one.message)
            elif not field.errors:  # a field already refused for its shape needs no second message
                field.errors = [*field.errors, one.message]


def required():
    return validators.InputRequired(message=_l("此项必填。"))


def length(maximum: int, minimum: int = 0):
    return validators.Length(min=minimum, max=maximum,
                             message=_l("长度须在 %(min)d 到 %(max)d 个字符之间。", min=minimum, max=maximum))


class ImportForm(BaseForm):
    file = FileField(_l("文件（CSV 或 XLSX）"), [
        FileRequired(message=_l("请选择要上传的文件。")),
        FileAllowed(["csv", "xlsx"], message=_l("只支持 CSV 和 XLSX 文件。")),
    ])
    skip_invalid = BooleanField(_l("跳过有误的行，只导入正确的行"))


def valid_from_field() -> IntegerField:
    """The first academic year (its start year) a piece of policy data applies to."""
    return IntegerField(_l("启用学年（起始年份）"), [required(), validators.NumberRange(2000, 2100)])


def valid_to_field() -> IntegerField:
    """The last academic year it applies to; empty while it is in force."""
    return IntegerField(_l("停用学年（起始年份，可空）"), [validators.Optional(), validators.NumberRange(2000, 2100)])
