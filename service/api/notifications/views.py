"""Webhooks: admins register them (the secret shown once), list, remove and read their delivery attempts;
staff read the periodic reviews due or overdue."""
from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from service.api import common
from service.api.common import QUERY, NoQuery, reading
from service.bootstrap import services
from service.http.paging import page
from service.http.security import require, roles
from service.http.writes import write
from service.notifications import reminders
from service.notifications import webhooks as hooks
from service.notifications.settings import NotifySettings

from . import schemas as s

blp = common.Blueprint("notifications", __name__, url_prefix="/api/v1",
                       description="Webhooks the worker delivers events to, and periodic reviews coming due.")


def settings() -> NotifySettings:
    """Return the notification settings of the app."""
    return NotifySettings.from_config(current_app.config)


@blp.route("/webhooks")
class Webhooks(MethodView):
    @roles("admin")
    @blp.arguments(NoQuery(), **QUERY)
    @blp.response(200, s.WebhookList)
    @blp.problems(401, 403, 422)
    def get(self, _: dict[str, Any]) -> dict[str, Any]:
        """Every webhook, with whether it is active (a webhook failing for a day is turned off)."""
        with reading() as connection:
            return {"items": hooks.listed(connection)}

    @write("admin")
    @blp.arguments(s.WebhookInput())
    @blp.response(201, s.NewWebhook)
    @blp.problems(400, 401, 403, 413, 415, 422)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Register a webhook for events recorded from now on; its secret is in this answer only."""
        return hooks.register(services().engine, settings(), url=body["url"], events=body["events"],
                              description=body.get("description"), actor=require("admin").name,
                              now=services().ledger.clock())


@blp.route("/webhooks/<wid>")
class WebhookResource(MethodView):
    @roles("admin")
    @blp.response(204)
    @blp.problems(401, 403, 404)
    def delete(self, wid: str) -> None:
        """Remove a webhook: nothing more is delivered to it; its attempts stay on record."""
        hooks.remove(services().engine, wid)


@blp.route("/webhooks/<wid>/deliveries")
class Deliveries(MethodView):
    @roles("admin")
    @blp.arguments(s.DeliveryQuery(), **QUERY)
    @blp.response(200, s.AttemptPage)
    @blp.problems(401, 403, 404, 422)
    def get(self, query: dict[str, Any], wid: str) -> dict[str, Any]:
        """Every delivery attempt, oldest first: the event's position, the status code or error, when, next retry."""
        with reading() as connection:
            hooks.require(connection, wid)
            items = hooks.attempts(connection, wid, query.get("cursor"), query["limit"] + 1)
        return page(items, query["limit"], key=lambda a: a["id"])


@blp.route("/reviews/due")
class ReviewsDue(MethodView):
    @roles()
    @blp.arguments(s.ReviewsDueQuery(), **QUERY)
    @blp.response(200, s.ReviewsDue)
    @blp.problems(401, 422)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Policies whose periodic review is due (within the reminder days) or overdue, with who answers for them."""
        within = query.get("within_days", settings().review_reminder_days)
        with reading() as connection:
            return {"items": reminders.due(connection, services().ledger.clock(), within)}
