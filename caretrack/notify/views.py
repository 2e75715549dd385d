"""The inbox (every logged-in user, their own notifications only) and the group-robot settings of units."""

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from caretrack.core.access import Permission, get_or_404, permission_required
from caretrack.core.errors import DomainError
from caretrack.core.pagination import paginate
from caretrack.core.web import local_target
from caretrack.notify import bp, queries, services, webhooks
from caretrack.notify.forms import WebhookForm
from caretrack.notify.models import WebhookKind, WebhookTarget


@bp.app_context_processor
def inbox_badge():
    """`unread_notifications()` for the navigation badge, read with the user (services.badge_count)."""

    def unread_notifications() -> int:
        if not current_user.is_authenticated:
            return 0
        if "unread_notifications" not in g:
            g.unread_notifications = services.badge_count(current_user)
        return g.unread_notifications

    return {"unread_notifications": unread_notifications}


@bp.route("/")
@login_required
def list_notifications():
    unread_only = request.args.get("unread") == "1"
    page = paginate(queries.inbox(current_user, unread_only))
    return render_template("notify/inbox.html", page=page, unread_only=unread_only)


def _back_to_inbox():
    return redirect(local_target(request.form.get("next"), url_for("notify.list_notifications")))


@bp.route("/<int:notification_id>/read", methods=["POST"])
@login_required
def mark_read(notification_id: int):
    notification = queries.own_notification_or_404(current_user, notification_id)
    services.mark_read(current_user, notification)
    return _back_to_inbox()


@bp.route("/read-all", methods=["POST"])
@login_required
def mark_all_read():
    count = services.mark_all_read(current_user)
    flash(_("已将 %(n)d 条提醒标为已读。", n=count), "success")
    return _back_to_inbox()


@bp.route("/webhooks")
@login_required
@permission_required(Permission.WEBHOOKS_MANAGE)
def list_webhook_units():
    page = paginate(queries.webhook_units(current_user))
    counts = queries.active_robot_counts([unit.id for unit in page.items])
    return render_template("notify/webhook_units.html", page=page, counts=counts)


@bp.route("/webhooks/units/<int:unit_id>", methods=["GET", "POST"])
@login_required
@permission_required(Permission.WEBHOOKS_MANAGE)
def manage_webhooks(unit_id: int):
    unit = queries.webhook_unit_or_404(current_user, unit_id)
    form = WebhookForm()
    if form.validate_on_submit():
        try:
            services.add_webhook_target(current_user, unit.id, WebhookKind(form.kind.data), form.url.data)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            flash(_("群机器人已添加。"), "success")
            return redirect(url_for("notify.manage_webhooks", unit_id=unit.id))
    return render_template("notify/webhooks.html", unit=unit, form=form, targets=queries.unit_targets(unit.id),
                           mask_url=webhooks.mask_url), 400 if form.errors else 200


@bp.route("/webhooks/<int:target_id>/disable", methods=["POST"])
@login_required
@permission_required(Permission.WEBHOOKS_MANAGE)
def disable_webhook(target_id: int):
    target = get_or_404(WebhookTarget, target_id, current_user, Permission.WEBHOOKS_MANAGE)
    services.disable_webhook_target(current_user, target)
    flash(_("群机器人已停用，不再向该群发送消息。"), "success")
    return redirect(url_for("notify.manage_webhooks", unit_id=target.unit_id))
