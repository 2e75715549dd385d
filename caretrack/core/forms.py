"""The base form and field helpers every domain's forms use.

The base form adds to every field the checks its kind always needs, so no form can forget them: no control
characters in text, dates in a sane range, numbers that fit their columns, a hidden version that is a number.
"""

from datetime import date
from decimal import Decimal
from functools import cache

from babel import support
from flask import current_app, has_request_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from markupsafe import Markup, escape
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    Field,
    HiddenField,
    IntegerField,
    SelectFieldBase,
    SelectMultipleField,
    StringField,
    TextAreaField,
    ValidationError,
    validators,
    widgets,
)
from wtforms.i18n import messages_path

from caretrack.core import text
from caretrack.core.timeutil import date_range_message, is_sane_date

# Integer columns are 32-bit on PostgreSQL; money is Numeric(12, 2).
LARGEST_INTEGER = 2**31 - 1
LARGEST_DECIMAL = Decimal(10) ** 10
VERSION_FIELD = "version"


def no_control_characters(multiline: bool = False):
    """Refuse control characters; a multi-line note may hold line breaks and tabs."""
    def check(_form, field) -> None:
        if text.has_control_characters(field.data, multiline=multiline):
            raise ValidationError(text.control_character_message())
    return check


def sane_date(_form, field) -> None:
    if isinstance(field.data, date) and not is_sane_date(field.data):
        raise ValidationError(date_range_message())


def fits_integer_column(_form, field) -> None:
    if isinstance(field.data, int) and not -LARGEST_INTEGER <= field.data <= LARGEST_INTEGER:
        raise ValidationError(_l("数值超出允许范围。"))


def fits_decimal_column(_form, field) -> None:
    if isinstance(field.data, Decimal) and not (field.data.is_finite() and abs(field.data) < LARGEST_DECIMAL):
        raise ValidationError(_l("数值超出允许范围。"))


def version_number(_form, field) -> None:
    """The hidden version a form was opened with: empty or a whole number (a tampered one is refused)."""
    value = (field.data or "").strip() if isinstance(field.data, str) else field.data
    if value in ("", None):
        return
    if not (isinstance(value, int) or (value.isascii() and value.isdigit() and len(value) < 19)):
        raise ValidationError(_l("表单已损坏，请刷新页面后重新填写。"))


def implied_validators(field: Field) -> list:
    """The checks every field of this kind gets, whatever form it is on."""
    if isinstance(field, HiddenField):
        # Hidden fields are not typed by a person; the code reading one checks it (a redirect target, say).
        return [version_number] if field.short_name == VERSION_FIELD else []
    if isinstance(field, TextAreaField):
        return [no_control_characters(multiline=True)]
    if isinstance(field, StringField):
        return [no_control_characters()]
    if isinstance(field, DateField):
        return [sane_date]
    if isinstance(field, IntegerField):
        return [fits_integer_column]
    if isinstance(field, DecimalField):
        return [fits_decimal_column]
    return []


@cache
def _wtforms_catalog(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class _Select(widgets.Select):
    """WTForms' select, each plain option written in one step (the same HTML): the file page's move form lists
    a college's classes, dozens of them, and WTForms builds each option through its generic attribute writer.
    """

    @classmethod
    def render_option(cls, value, label, selected, **kwargs):
        if kwargs or value is None or isinstance(value, bool):
            return super().render_option(value, label, selected, **kwargs)
        return Markup(f'<option {"selected " if selected else ""}value="{escape(value)}">{escape(label)}</option>')


class BaseForm(FlaskForm):
    """A CSRF-protected form whose validator messages are Chinese first."""

    class Meta:
        locales = ["zh_CN", "en"]

        def bind_field(self, form, unbound_field, options):
            field = super().bind_field(form, unbound_field, options)
            if type(field.widget) is widgets.Select:
                field.widget = _Select(multiple=field.widget.multiple)
            return field

        def get_translations(self, form):
            """WTForms' own messages in the request's language, as Flask-WTF gives them, but each catalog read
            from disk once per process rather than once per request (it never changes while the app runs).
            """
            if not has_request_context() or not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _wtforms_catalog(str(get_locale()))

    def validate(self, extra_validators=None) -> bool:
        """Validate with each field's own validators and those its kind implies."""
        extra = {name: list(checks) for name, checks in (extra_validators or {}).items()}
        for name, field in self._fields.items():
            extra.setdefault(name, []).extend(implied_validators(field))
        return super().validate(extra_validators=extra)

    def show_saved(self, saved: dict, version: int) -> None:
        """After a conflict: put what is saved now beside the user's input, and take the next save as seen.

        A field the user left empty takes the saved value, so saving again cannot erase what someone else
        wrote there; a field the user filled keeps their input, and `saved_differences` lists what is saved
        in it instead. Only now that the saved values are on the page does the hidden version become theirs.
        """
        self.saved_differences = []
        for name, value in saved.items():
            field = self[name]
            if _is_empty(field.data) and not _is_empty(value):
                field.data = value
            elif field.data != value and not (_is_empty(field.data) and _is_empty(value)):
                self.saved_differences.append((field.label.text, _shown(field, value)))
        self[VERSION_FIELD].data = str(version)

    def add_domain_error(self, error) -> None:
        """Put each error of a service's DomainError(s) on the field it names, or on the whole form."""
        for one in error.errors:
            field = getattr(self, one.field, None) if one.field else None
            if field is None:
                self.form_errors.append(one.message)
            elif not field.errors:  # a field already refused for its shape needs no second message
                field.errors = [*field.errors, one.message]


def _is_empty(value) -> bool:
    return value is None or value == "" or value == [] or (type(value) is int and value == 0)


def _shown(field, value) -> str:
    """A saved value as the form would show it: a choice's label, 是/否, or the text."""
    if isinstance(field, BooleanField):
        return str(_l("是") if value else _l("否"))
    if isinstance(value, list | tuple):
        return "、".join(_shown(field, item) for item in value) or "—"
    for choice in field.iter_choices() if isinstance(field, SelectFieldBase) else ():
        choice_value, label = (choice.value, choice.label) if hasattr(choice, "label") else choice[:2]
        if str(choice_value) == str(value):
            return str(label)
    return "—" if _is_empty(value) else str(value)


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


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes; a value that is not one of them (a tampered form) gets a message in the user's language."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def pre_validate(self, form) -> None:
        try:
            super().pre_validate(form)
        except ValidationError:
            # WTForms' own catalog has no Chinese for this message.
            raise ValidationError(_l("所选的选项已不可用，请刷新页面后重新选择。")) from None


def flash_saved(message: str, changed: bool | None = None) -> None:
    """Tell the person what a save did: the message when something changed, plainly "no change" otherwise.

    `changed` None: whether the request has written any row so far (core.requests.wrote_changes).
    """
    from flask import flash
    from flask_babel import gettext as _

    from caretrack.core.requests import wrote_changes

    if wrote_changes() if changed is None else changed:
        flash(message, "success")
    else:
        flash(_("没有改动，未作保存。"), "info")


def save_form(form, save) -> bool:
    """Validate the form and run `save`; a domain error goes onto the form and the request writes nothing."""
    from caretrack.core.errors import DomainError
    from caretrack.core.requests import roll_back_anyway

    if not form.validate_on_submit():
        return False
    try:
        save()
    except DomainError as error:
        roll_back_anyway()
        form.add_domain_error(error)
        return False
    return True
