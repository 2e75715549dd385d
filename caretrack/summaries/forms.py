"""Forms of the summary pages: the narrative, a batch download, closing a year."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, TextAreaField, validators

from caretrack.core.forms import BaseForm, length, required
from caretrack.summaries.services import NARRATIVE_MAX


class NarrativeForm(BaseForm):
    text = TextAreaField(_l("学期评语"), [length(NARRATIVE_MAX)], render_kw={"rows": 6})
    version = HiddenField()


FORMAT_CHOICES = [("xlsx", _l("Excel（每班一页）")), ("zip", _l("PDF 压缩包（每生一份）")),
                  ("pdf", _l("合并为一个 PDF"))]


class BatchForm(BaseForm):
    """A batch to generate on the task queue; the scopes offered are the user's, so the view fills them."""

    scope = SelectField(_l("范围"), [required()], validate_choice=False)  # outside the scope: 404, not a form error
    year = IntegerField(_l("学年（起始年份）"), [required(), validators.NumberRange(2000, 2100)])
    term = SelectField(_l("学期"), [required()], choices=[("1", _l("第一学期")), ("2", _l("第二学期"))])
    format = SelectField(_l("格式"), [required()], choices=FORMAT_CHOICES)

    @staticmethod
    def format_choices() -> list:
        return FORMAT_CHOICES


class CloseYearForm(BaseForm):
    year = IntegerField(_l("学年（起始年份）"), [required(), validators.NumberRange(2000, 2100)])
    force = BooleanField(_l("学期尚未结束也强制归档（将记入审计日志）"))
