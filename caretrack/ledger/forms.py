"""Forms of the ledger: payments, care records, removal, the catalog."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    DecimalField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    validators,
)

from caretrack.core.forms import BaseForm, length, required, valid_from_field, valid_to_field
from caretrack.ledger.models import DEFAULT_RECORD_KIND, Grade, Period, RecordKind, Tier


class DisbursementForm(BaseForm):
    project_id = SelectField(_l("资助项目"), coerce=int, validators=[required()])
    grade = SelectField(_l("档次"), choices=[])
    amount = StringField(_l("金额（元）"), [required(), length(15)])
    paid_on = DateField(_l("发放日期"), [required()])
    academic_year_id = SelectField(_l("学年"), coerce=int, validators=[required()])
    term = SelectField(_l("学期"), choices=[
        ("", _l("全学年")), ("1", _l("第一学期（秋季）")), ("2", _l("第二学期（春季）"))])
    voucher = StringField(_l("凭证号"), [validators.Optional(), length(50)])
    version = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.grade.choices = [("", _l("不分档"))] + Grade.choices()


class RecordForm(BaseForm):
    kind = SelectField(_l("类型"), choices=[], validators=[required()], default=DEFAULT_RECORD_KIND.value)
    happened_on = DateField(_l("日期"), [required()])
    summary = TextAreaField(_l("内容"), [required(), length(5000)])
    outcome = TextAreaField(_l("结果"), [validators.Optional(), length(2000)])
    next_step = StringField(_l("下一步"), [validators.Optional(), length(200)])
    next_step_due = DateField(_l("下一步期限"), [validators.Optional()])
    tier = SelectField(_l("保密级别"), choices=[])
    post = StringField(_l("岗位"), [validators.Optional(), length(100)])
    hours = DecimalField(_l("工时"), [validators.Optional(), validators.NumberRange(
        max=9999.9, message=_l("工时不能超过 9999.9。"))], places=1)  # the column holds 6 digits
    pay = DecimalField(_l("报酬（元）"), [validators.Optional()], places=2)
    attachment = FileField(_l("附件（照片或扫描件）"))
    # The student's open follow-ups this record completes: only the ones ticked (the view lists them).
    closes = SelectMultipleField(_l("这条记录完成的跟进"), coerce=int, choices=[])
    version = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = RecordKind.choices()
        self.tier.choices = [("", _l("按类型默认（心理关爱为保密）"))] + Tier.choices()


class RemoveForm(BaseForm):
    reason = StringField(_l("删除原因"), [required(), length(200)])


class ProjectForm(BaseForm):
    name = StringField(_l("项目名称"), [required(), length(50)])
    stage = SelectField(_l("学段"), choices=[], validators=[required()])
    has_grades = SelectField(_l("是否分档"), choices=[("0", _l("不分档")), ("1", _l("分一档、二档、三档"))])
    period = SelectField(_l("发放周期"), choices=[])
    valid_from = valid_from_field()
    valid_to = valid_to_field()
    standards = TextAreaField(_l("资助标准（每行一条：档次或类别=年度金额）"), [validators.Optional(), length(500)],
                              description=_l("例如“一档=4950”“二档=3700”，或“小学=1250”，不分档且只有一个标准时写“=6000”。"))
    note = StringField(_l("说明"), [validators.Optional(), length(200)])

    def __init__(self, *args, **kwargs):
        from caretrack.org.models import Stage

        super().__init__(*args, **kwargs)
        self.stage.choices = Stage.choices()
        self.period.choices = Period.choices()
