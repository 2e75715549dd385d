"""Forms of the duties: a record, its file, a person of the aid centre, a visit, a budget, a duty type."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    validators,
)

from caretrack.core.forms import BaseForm, MultiCheckboxField, length, required, valid_from_field, valid_to_field


class RecordForm(BaseForm):
    duty_type_id = SelectField(_l("职责"), coerce=int, choices=[], validators=[required()])
    done_on = DateField(_l("完成日期"), [required()])
    title = StringField(_l("内容"), [required(), length(200)],
                        description=_l("如：2025年秋季学期资助工作专题培训"))
    summary = TextAreaField(_l("情况说明"), [validators.Optional(), length(5000)])
    channel = StringField(_l("宣传渠道"), [validators.Optional(), length(200)],
                          description=_l("政策宣传：招生简章、入学通知书、校园网、微信公众号等"))
    contact = StringField(_l("联系人及联系方式"), [validators.Optional(), length(100)])
    attending_unit_ids = MultiCheckboxField(_l("参加单位"), choices=[], coerce=int)
    trainee_ids = MultiCheckboxField(_l("参训人员"), choices=[], coerce=int)
    file = FileField(_l("附件（照片或会议纪要，JPG、PNG 或 PDF，可空）"))
    version = HiddenField()


class FileForm(BaseForm):
    file = FileField(_l("附件（JPG、PNG 或 PDF）"), [FileRequired(message=_l("请选择要上传的文件。"))])


class StaffForm(BaseForm):
    name = StringField(_l("姓名"), [required(), length(50)])
    user_id = SelectField(_l("系统账号（用于核对培训，可空）"), coerce=int, choices=[], default=0)
    is_full_time = BooleanField(_l("专职"), default=True)
    is_head = BooleanField(_l("中心负责人"))
    starts_on = DateField(_l("到岗日期"), [required()])
    ends_on = DateField(_l("离岗日期（可空）"), [validators.Optional()])


class DeleteForm(BaseForm):
    """The confirmation of a delete: the button of a form the page asks about before sending (data-confirm)."""


class EndStaffForm(BaseForm):
    ends_on = DateField(_l("离岗日期"), [required()])


class VisitForm(BaseForm):
    visited_on = DateField(_l("走访日期"), [required()])
    findings = TextAreaField(_l("发现的问题"), [required(), length(5000)])
    requirements = TextAreaField(_l("整改要求（每行一条）"), [validators.Optional(), length(5000)])
    due_on = DateField(_l("整改期限（可空）"), [validators.Optional()])


class EditVisitForm(BaseForm):
    visited_on = DateField(_l("走访日期"), [required()])
    findings = TextAreaField(_l("发现的问题"), [required(), length(5000)])


class CloseForm(BaseForm):
    closed_on = DateField(_l("完成日期"), [required()])
    note = StringField(_l("整改情况"), [required(), length(500)])


class BudgetForm(BaseForm):
    project_id = SelectField(_l("资助项目"), coerce=int, choices=[], validators=[required()])
    amount = DecimalField(_l("年度预算（元）"), [
        required(), validators.NumberRange(min=0, message=_l("预算金额不能为负数。"))], places=2)


class DutyTypeForm(BaseForm):
    name = StringField(_l("名称"), [required(), length(100)])
    description = TextAreaField(_l("说明"), [validators.Optional(), length(2000)])
    unit_kinds = MultiCheckboxField(_l("承担的单位类型"), choices=[])
    due_month = IntegerField(_l("截止月份"), [required(), validators.NumberRange(1, 12)])
    due_day = IntegerField(_l("截止日"), [required(), validators.NumberRange(1, 31)])
    min_count = IntegerField(_l("每学年至少次数"), [required(), validators.NumberRange(1, 100)], default=1)
    needs_contact = BooleanField(_l("须写明联系人"))
    is_training = BooleanField(_l("培训（登记参训人员）"))
    first_year = valid_from_field()
    last_year = valid_to_field()
