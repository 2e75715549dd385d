"""Forms of follow-ups and the visit cadence."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
    validators,
)

from caretrack.core.forms import BaseForm, length, required, valid_from_field, valid_to_field
from caretrack.followups.models import CadencePeriod, FollowUpKind
from caretrack.ledger.models import RecordKind
from caretrack.students.models import Category, Level


class FollowUpForm(BaseForm):
    kind = SelectField(_l("跟进方式"), choices=[], validators=[required()])
    assignee_id = SelectField(_l("负责人"), coerce=int, validators=[required()])
    due_on = DateField(_l("期限"), [required()])
    note = TextAreaField(_l("说明"), [validators.Optional(), length(2000)])
    confirm_past = BooleanField(_l("确认期限已过（补记）"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = FollowUpKind.choices()


class CancelForm(BaseForm):
    reason = StringField(_l("取消原因"), [required(), length(200)])
    version = HiddenField()


class CadenceForm(BaseForm):
    name = StringField(_l("名称"), [required(), length(100)])
    record_kind = SelectField(_l("方式"), choices=[])
    period = SelectField(_l("频次"), choices=[])
    category = SelectField(_l("适用困难类型"), choices=[])
    level = SelectField(_l("适用困难等级"), choices=[])
    valid_from = valid_from_field()
    valid_to = valid_to_field()
    is_active = BooleanField(_l("启用"), default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.record_kind.choices = [(k.value, k.label) for k in (RecordKind.TALK, RecordKind.HOME_VISIT,
                                                                 RecordKind.PARENT_MEETING, RecordKind.PSYCH_CARE)]
        self.period.choices = CadencePeriod.choices()
        self.category.choices = [("", _l("不限"))] + Category.choices()
        self.level.choices = [("", _l("不限"))] + Level.choices()
