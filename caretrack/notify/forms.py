"""The form to add a unit's group robot."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, ValidationError

from caretrack.core.forms import BaseForm, length, required
from caretrack.notify import webhooks
from caretrack.notify.models import WebhookKind


def _robot_url(form, field) -> None:
    kind = WebhookKind(form.kind.data) if form.kind.data in {k.value for k in WebhookKind} else None
    problem = webhooks.url_problem((field.data or "").strip(), kind)
    if problem:
        raise ValidationError(problem)


class WebhookForm(BaseForm):
    kind = SelectField(_l("类型"), choices=[], validators=[required()])
    url = StringField(_l("Webhook 地址"), [required(), length(500), _robot_url], description=_l(
        "在群聊中添加群机器人后复制其 Webhook 地址。若机器人设置了自定义关键词，请填写“%(keyword)s”。",
        keyword=webhooks.KEYWORD))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = WebhookKind.choices()
