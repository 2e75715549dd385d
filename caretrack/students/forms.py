"""Forms of the student file; shapes only, the rules live in services."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    validators,
)

from caretrack.core.forms import BaseForm, MultiCheckboxField, length, required
from caretrack.students.models import Category, Gender, Hukou, Level, StudentStatus


class StudentForm(BaseForm):
    class_id = SelectField(_l("班级"), coerce=int, validators=[required()])
    student_no = StringField(_l("学号"), [required(), length(30)])
    name = StringField(_l("姓名"), [required(), length(50)])
    # Longer than 18: what people paste may hold spaces or invisible characters, which idnumber.parse removes.
    id_number = StringField(_l("身份证号"), [length(64)], render_kw={"autocomplete": "off"})
    gender = SelectField(_l("性别"), choices=[])
    stage = SelectField(_l("学段"), choices=[], validators=[required()])
    enrolment_year = IntegerField(_l("入学年份"), [validators.Optional(), validators.NumberRange(
        1990, 2100, message=_l("入学年份应为四位年份，如 2024。"))])
    is_boarder = BooleanField(_l("寄宿生"))
    hukou = SelectField(_l("户口类型"), choices=[])
    guardian_name = StringField(_l("监护人姓名"), [validators.Optional(), length(50)])
    guardian_phone = StringField(_l("监护人电话"), [validators.Optional(), length(20)])
    version = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.gender.choices = [("", _l("按身份证号"))] + Gender.choices()
        self.hukou.choices = [("", "—")] + Hukou.choices()


class MoveForm(BaseForm):
    class_id = SelectField(_l("调入班级"), coerce=int, validators=[required()])
    version = HiddenField()
    # Set by the confirmation page: the server moves nobody until the user has seen what will change.
    confirm = HiddenField()


class StatusForm(BaseForm):
    status = SelectField(_l("状态"), choices=[], validators=[required()])
    on = DateField(_l("日期"), [required()])
    note = StringField(_l("说明"), [validators.Optional(), length(200)])
    version = HiddenField()
    confirm = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = StudentStatus.choices()


class IdentificationForm(BaseForm):
    academic_year = SelectField(_l("认定学年"), choices=[], validators=[required()])
    categories = MultiCheckboxField(_l("家庭经济困难类型"), choices=[])
    level = SelectField(_l("困难等级"), choices=[], validators=[required()])
    is_registered_poverty = BooleanField(_l("建档立卡家庭"))
    is_martyr_child = BooleanField(_l("烈士子女"))
    is_disaster = BooleanField(_l("家庭遭遇自然灾害或突发事件"))
    decided_on = DateField(_l("认定日期"), [validators.Optional()])
    note = TextAreaField(_l("认定依据"), [validators.Optional(), length(2000)])
    version = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.categories.choices = Category.choices()
        self.level.choices = Level.choices()


class CaseloadForm(BaseForm):
    name = StringField(_l("名单名称"), [required(), length(100)])
    school_id = SelectField(_l("学校"), coerce=int, validators=[required()])
