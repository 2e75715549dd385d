"""The inbox and its badge; the group-robot settings of a unit."""

import re

from sqlalchemy import func, select

from caretrack.audit.models import AuditEvent
from caretrack.core.access import Role
from caretrack.extensions import db
from caretrack.notify.models import WebhookTarget
from caretrack.notify.services import notify
from tests.factories import make_user

WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def badge(html: str) -> str | None:
    found = re.search(r'ct-unread-badge"[^>]*>([^<]+)</span>', html)
    return found.group(1) if found else None


def inbox_of_three(user):
    notify(user.id, "a", "家访将于今天到期", "安安 的家访将于今天到期。", "/followups/1")
    read = notify(user.id, "b", "已经读过的提醒")
    notify(user.id, "c", "谈心谈话将于明天到期", link="/followups/2")
    return read


def test_the_inbox_lists_ones_own_unread_first_with_links(login, client):
    me, other = make_user(), make_user()
    read = inbox_of_three(me)
    notify(other.id, "a", "别人的提醒")
    client = login(me)
    client.post(f"/inbox/{read.id}/read")
    html = page(client, "/inbox/")
    assert "别人的提醒" not in html
    assert html.index("谈心谈话将于明天到期") < html.index("家访将于今天到期") < html.index("已经读过的提醒")
    assert '<a href="/followups/1">家访将于今天到期</a>' in html
    assert "安安 的家访将于今天到期。" in html
    assert badge(html) == "2"


def test_marking_read_updates_the_badge_and_someone_elses_answers_404(login, client):
    me, other = make_user(), make_user()
    inbox_of_three(me)
    theirs = notify(other.id, "x", "别人的提醒")
    mine = notify(me.id, "d", "又一条提醒")
    login(me)
    assert badge(page(client, "/")) == "4"
    response = client.post(f"/inbox/{mine.id}/read", data={"next": "/inbox/?page=1"})
    assert (response.status_code, response.location) == (302, "/inbox/?page=1")
    assert mine.read_at is not None
    assert badge(page(client, "/")) == "3"
    assert client.post(f"/inbox/{theirs.id}/read").status_code == 404
    assert theirs.read_at is None


def test_mark_all_read_clears_the_badge(login, client):
    me = make_user()
    inbox_of_three(me)
    login(me)
    response = client.post("/inbox/read-all", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "已将 3 条提醒标为已读。" in html
    assert badge(html) is None


def test_the_badge_costs_one_query_per_page(login, client, count_queries):
    me = make_user()
    inbox_of_three(me)
    login(me)
    with count_queries() as counter:
        page(client, "/")
    unread_queries = [s for s in counter.statements if "notifications" in s]
    assert len(unread_queries) == 1
    assert "FROM users JOIN user_sessions" in " ".join(unread_queries[0].split())  # read with the user


def test_a_request_that_wrote_counts_the_badge_afresh(app):
    # The count read with the user is taken only while the request has written nothing: a page that marks
    # notifications read, or sends one, shows what is unread after that.
    from caretrack.notify import services

    me = make_user()
    inbox_of_three(me)
    with app.test_request_context("/"):
        services.keep_unread_count(me.id, 3)
        assert services.badge_count(me) == 3
        services.mark_all_read(me)
        assert services.badge_count(me) == 0


def test_a_visitor_sees_no_badge(client):
    assert badge(client.get("/login").get_data(as_text=True)) is None


# --- Group robots of a unit ------------------------------------------------------------------------------

def robots() -> int:
    return db.session.scalar(select(func.count()).select_from(WebhookTarget))


def test_a_school_officer_adds_a_robot_and_sees_its_token_masked(city, login, client):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    assert "东城区第一中学" in page(client, "/inbox/webhooks")
    response = client.post(f"/inbox/webhooks/units/{city.east_school.id}", data={"kind": "wecom", "url": WECOM_URL})
    assert response.status_code == 302
    target = db.session.scalar(select(WebhookTarget))
    assert (target.unit_id, target.kind, target.url, target.is_active) == (city.east_school.id, "wecom",
                                                                           WECOM_URL, True)
    html = page(client, f"/inbox/webhooks/units/{city.east_school.id}")
    assert "qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…5aaa" in html
    assert "693a91f6" not in html
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "webhook_added"))
    assert (event.object_id, event.unit_id) == (target.id, city.east_school.id)
    assert WECOM_URL not in (event.detail or "")


def test_a_bad_url_is_refused_in_chinese_and_nothing_is_written(city, login, client):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    path = f"/inbox/webhooks/units/{city.east_school.id}"
    for url, message in [
        ("http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc", "地址须以 https:// 开头"),
        ("https:///cgi-bin/webhook/send?key=abc", "地址缺少主机名"),
        ("https://oapi.dingtalk.com:port/robot/send", "地址格式不正确"),
        ("", "此项必填"),
    ]:
        response = client.post(path, data={"kind": "dingtalk", "url": url})
        assert response.status_code == 400, url
        assert message in response.get_data(as_text=True), url
    assert robots() == 0


def test_another_schools_robots_are_404_and_other_roles_403(city, login, client, client_for):
    officer = make_user(Role.SCHOOL_OFFICER, city.west_school)
    west = WebhookTarget(unit_id=city.west_school.id, kind="wecom", url=WECOM_URL, is_active=True)
    db.session.add(west)
    db.session.flush()
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    assert client.get(f"/inbox/webhooks/units/{city.west_school.id}").status_code == 404
    assert client.post(f"/inbox/webhooks/units/{city.west_school.id}",
                       data={"kind": "wecom", "url": WECOM_URL}).status_code == 404
    assert client.post(f"/inbox/webhooks/{west.id}/disable").status_code == 404
    assert client.get(f"/inbox/webhooks/units/{city.east.id}").status_code == 404  # the district above
    assert "西城区民族中学" not in page(client, "/inbox/webhooks")
    teacher = client_for(make_user(Role.CLASS_TEACHER, city.class_a))
    assert teacher.get(f"/inbox/webhooks/units/{city.east_school.id}").status_code == 403
    assert teacher.get("/inbox/webhooks").status_code == 403
    assert 'href="/inbox/webhooks"' not in page(teacher, "/")
    assert (robots(), west.is_active) == (1, True)
    assert page(client_for(officer), f"/inbox/webhooks/units/{city.west_school.id}").count("…5aaa") == 1


def test_a_district_officer_manages_its_schools_robots_and_disables_one(city, login, client):
    login(make_user(Role.DISTRICT_OFFICER, city.east))
    assert 'href="/inbox/webhooks"' in page(client, "/")
    client.post(f"/inbox/webhooks/units/{city.east_school.id}", data={"kind": "wecom", "url": WECOM_URL})
    target = db.session.scalar(select(WebhookTarget))
    response = client.post(f"/inbox/webhooks/{target.id}/disable", follow_redirects=True)
    assert "群机器人已停用" in response.get_data(as_text=True)
    assert target.is_active is False


def test_only_wecom_and_dingtalk_robot_hosts_are_accepted_unless_the_city_allows_another(city, login, client, app):
    login(make_user(Role.SCHOOL_OFFICER, city.east_school))
    path = f"/inbox/webhooks/units/{city.east_school.id}"
    for kind, url in [("wecom", "https://evil.example/cgi-bin/webhook/send?key=abc"),
                      ("wecom", "https://oapi.dingtalk.com/robot/send?access_token=abc"),
                      ("dingtalk", "https://qyapi.weixin.qq.com.evil.example/send?key=abc"),
                      ("dingtalk", "https://127.0.0.1/robot/send?access_token=abc")]:
        response = client.post(path, data={"kind": kind, "url": url})
        assert response.status_code == 400, url
        assert "只能使用企业微信（qyapi.weixin.qq.com）或钉钉（oapi.dingtalk.com）群机器人的地址" in \
            response.get_data(as_text=True)
    assert robots() == 0
    assert client.post(path, data={"kind": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=a"}
                       ).status_code == 302
    app.config["WEBHOOK_EXTRA_HOSTS"] = ["robot.city.example"]
    try:
        assert client.post(path, data={"kind": "wecom", "url": "https://robot.city.example/send?key=abc"}
                           ).status_code == 302
    finally:
        app.config["WEBHOOK_EXTRA_HOSTS"] = []
    assert robots() == 2
