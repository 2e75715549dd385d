"""The one card every small edit form stands on (macros/forms.html form_card): errors, fields, Save, Cancel."""

import re
from datetime import date

import pytest
from flask import render_template_string
from wtforms import StringField

from caretrack.core.access import Role
from caretrack.core.forms import BaseForm
from caretrack.duties import services as duties
from tests.factories import make_user


class TwoFields(BaseForm):
    name = StringField("姓名")
    note = StringField("备注")


def _card(html: str) -> str:
    return html.split('<div class="ct-card', 1)[1].split("</form>", 1)[0]


def test_the_card_shows_every_field_in_order_unless_the_call_lays_them_out(app):
    with app.test_request_context():
        form = TwoFields(formdata=None)
        form.form_errors.append("整张表的错误")
        plain = render_template_string('{% from "macros/forms.html" import form_card %}'
                                       '{{ form_card(form, "/back") }}', form=form)
        laid_out = render_template_string(
            '{% from "macros/forms.html" import field, form_card %}'
            '{% call form_card(form, "/back", width="col-lg-8") %}<div class="row">{{ field(form.note) }}</div>'
            '{% endcall %}', form=form)
    assert plain.lstrip().startswith('<div class="ct-card col-lg-6">')
    assert "整张表的错误" in plain
    assert re.findall(r'name="(\w+)"', plain) == ["name", "note"]
    assert '<button class="btn btn-success" type="submit">保存</button>' in plain
    assert '<a class="btn btn-link" href="/back">取消</a>' in plain
    assert laid_out.lstrip().startswith('<div class="ct-card col-lg-8">')
    assert re.findall(r'name="(\w+)"', laid_out) == ["note"]
    assert '<div class="row">' in laid_out


@pytest.mark.parametrize(("url", "role", "width", "cancel"), [
    ("/duties/types/new", Role.CITY_ADMIN, "col-lg-6", "/duties/types"),
    ("/activities/themes/new", Role.CITY_ADMIN, "col-lg-6", "/activities/themes"),
    ("/ledger/catalog/new", Role.CITY_ADMIN, "col-lg-8", "/ledger/catalog"),
    ("staff", Role.DISTRICT_OFFICER, "col-lg-6", "#staff"),
    ("visit", Role.CITY_ADMIN, "", "#visits"),
])
def test_each_catalog_and_duty_form_stands_on_the_card_with_its_cancel_link(city, client_for, url, role, width,
                                                                            cancel):
    if url == "staff":
        url = f"/duties/staff/{duties.add_staff(None, city.east, '李老师', True, True, date(2024, 9, 1)).id}/edit"
    elif url == "visit":
        visit = duties.record_visit(None, city.east, date(2025, 10, 1), "走访发现", [], date(2026, 8, 31))
        url = f"/duties/visits/{visit.id}/edit"
    response = client_for(make_user(role, city.city if role == Role.CITY_ADMIN else city.east)).get(url)
    assert response.status_code == 200, url
    card = _card(response.get_data(as_text=True))
    assert card.startswith(f' {width}">' if width else '">'), url
    assert '<button class="btn btn-success" type="submit">保存</button>' in card
    assert re.search(r'<a class="btn btn-link" href="[^"]*' + re.escape(cancel) + '">取消</a>', card), url
    assert len(re.findall(r'<div class="mb-3">', card)) >= 2  # its fields
