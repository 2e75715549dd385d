"""Forms of the screening: the work on a case, closing it, submitting the table, the rules."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField, validators

from caretrack.core.forms import BaseForm, MultiCheckboxField, length, required, valid_from_field, valid_to_field
from caretrack.ledger.models import Grade
from caretrack.org.models import Stage
from caretrack.screening.tables import FORM_DISTRICT, FORM_SCHOOL
from caretrack.students.models import Category

NO_OWNER = 0
RULE_FLAGS = [("martyr", _l("烈士子女")), ("disaster", _l("家庭遭遇自然灾害或突发事件"))]


class CaseForm(BaseForm):
    """Rendered once per open case, each with its own prefix, so the page's field ids stay unique."""

    reason = TextAreaField(_l("其他应资助未资助原因"), [validators.Optional(), length(2000)])
    remedy = TextAreaField(_l("解决措施"), [validators.Optional(), length(2000)])
    deadline = DateField(_l("时限"), [validators.Optional()])
    owner_id = SelectField(_l("负责人"), coerce=int, choices=[])
    version = HiddenField()


class CloseForm(BaseForm):
    closed_reason = StringField(_l("关闭原因"), [required(), length(200)])


class SubmitForm(BaseForm):
    correction_reason = StringField(_l("更正原因（再次报送时必填）"), [validators.Optional(), length(500)])
    confirmed = HiddenField()  # "1" only on the confirmation page: the first POST shows what will be submitted
    run_id = HiddenField()  # the run the confirmation page showed; another run since means confirming again


class RuleForm(BaseForm):
    name = StringField(_l("规则名称"), [required(), length(200)])
    stage = SelectField(_l("学段"), choices=[])
    categories = MultiCheckboxField(_l("家庭经济困难类型（任一）"), choices=[])
    flags = MultiCheckboxField(_l("或具有以下情形"), choices=RULE_FLAGS)
    boarder = SelectField(_l("寄宿"), choices=[("", _l("不限")), ("1", _l("寄宿生")), ("0", _l("非寄宿生"))])
    project_name = StringField(_l("须获得的资助项目（留空：须获得任一资助）"), [validators.Optional(), length(50)])
    min_grade = SelectField(_l("最低档次"), choices=[])
    coverage_form = SelectField(_l("计入统计表的覆盖问题"), choices=[
        ("", _l("不计入")), (FORM_SCHOOL, _l("附件1（普通高校、中职学校）")),
        (FORM_DISTRICT, _l("附件2（区教育局及所辖学校）"))])
    valid_from = valid_from_field()
    valid_to = valid_to_field()
    is_active = BooleanField(_l("启用"), default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stage.choices = [("", _l("所有学段"))] + Stage.choices()
        self.categories.choices = Category.choices()
        self.min_grade.choices = [("", _l("不要求档次"))] + Grade.choices()
