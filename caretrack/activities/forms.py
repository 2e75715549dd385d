"""Forms of activities: the activity, attendance by paste, photos, themes and goals, exemplary students."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SelectField, StringField, TextAreaField, TimeField, validators

from caretrack.core.forms import BaseForm, MultiCheckboxField, length, required, valid_from_field, valid_to_field


class ActivityForm(BaseForm):
    organiser = SelectField(_l("组织方"), choices=[], validators=[required()])
    theme_ids = MultiCheckboxField(_l("主题"), choices=[], coerce=int)
    title = StringField(_l("活动名称"), [required(), length(200)])
    held_on = DateField(_l("活动日期"), [required()])
    starts_at = TimeField(_l("开始时间"), [validators.Optional()])
    place = StringField(_l("地点"), [validators.Optional(), length(200)])
    summary = TextAreaField(_l("活动简介"), [validators.Optional(), length(5000)])


class PasteForm(BaseForm):
    student_nos = TextAreaField(_l("学号"), [required(), length(100000)], description=_l(
        "每行一个学号；市、区组织的活动每行写“单位代码 学号”。粘贴的学生记为到场。"))


class PhotoForm(BaseForm):
    photo = FileField(_l("活动照片（JPG 或 PNG）"), [FileRequired(message=_l("请选择要上传的照片。"))])


class ThemeForm(BaseForm):
    name = StringField(_l("主题名称"), [required(), length(50)])
    first_year = valid_from_field()
    last_year = valid_to_field()


class GoalForm(BaseForm):
    theme_id = SelectField(_l("主题"), coerce=int, choices=[], validators=[required()])
    unit_kinds = MultiCheckboxField(_l("学校类型"), choices=[])
    first_year = valid_from_field()
    last_year = valid_to_field()


class NominationForm(BaseForm):
    school_id = SelectField(_l("学校"), coerce=int, choices=[], validators=[required()])
    student_no = StringField(_l("学号"), [required(), length(30)])
    story = TextAreaField(_l("推荐事迹"), [required(), length(5000)],
                          description=_l("公开前须记录同意；公开的事迹不显示困难类型、资助情况和身份证号，请勿写入。"))


class ConsentForm(BaseForm):
    consent_on = DateField(_l("同意日期"), [required()])
    guardian_name = StringField(_l("监护人姓名（学生未满 18 岁时必填）"), [validators.Optional(), length(50)])


class TalkForm(BaseForm):
    held_on = DateField(_l("宣讲日期"), [required()])
    audience = StringField(_l("宣讲学校或对象"), [required(), length(200)])
    note = TextAreaField(_l("备注"), [validators.Optional(), length(2000)])
