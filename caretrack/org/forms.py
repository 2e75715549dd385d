"""Forms for units, colleges, classes, term dates and the unit import."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, SelectMultipleField, StringField, validators

from caretrack.core.forms import BaseForm, length, required
from caretrack.org.models import OwnerType, Stage, UnitKind


class UnitForm(BaseForm):
    code = StringField(_l("单位代码"), [required(), validators.Regexp(r"^\d{6}(\d{4})?$", message=_l(
        "单位代码为 6 位（市、区）或 10 位（学校标识码）数字。"))])
    name = StringField(_l("单位名称"), [required(), length(100)])
    kind = SelectField(_l("单位类型"), choices=[], validators=[required()])
    parent_code = StringField(_l("上级单位代码"), [validators.Optional(), length(10)])
    stages = SelectMultipleField(_l("学段"), choices=[])
    owner_type = SelectField(_l("举办者"), choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = UnitKind.choices()
        self.stages.choices = Stage.choices()
        self.owner_type.choices = OwnerType.choices()


class NamedForm(BaseForm):
    name = StringField(_l("名称"), [required(), length(100)])


class ClassForm(NamedForm):
    college_id = SelectField(_l("学院（系）"), choices=[], coerce=int)


class TermDatesForm(BaseForm):
    academic_year = StringField(_l("学年"), [required(), validators.Regexp(
        r"^\d{4}-\d{4}$", message=_l("学年格式应为“2025-2026”。"))])
    number = SelectField(_l("学期"), choices=[("1", _l("第一学期（秋季）")), ("2", _l("第二学期（春季）"))])
    starts_on = DateField(_l("开始日期"), [required()], format="%Y-%m-%d")
    ends_on = DateField(_l("结束日期"), [required()], format="%Y-%m-%d")
