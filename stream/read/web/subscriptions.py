"""Webhook subscriptions over HTTP: a buyer's token manages its own (another buyer's
answer 404, as if they did not exist); an ops token, any buyer's. A change is written to
the subscriptions topic and shows in the answers a moment later, when the read model
has read it back. A signing secret is in the answer that makes it, and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.outputs import Channel, Status
from schemas.types import format_instant
from stream.read.notify import manage
from stream.read.notify.subscriptions import Subscription, SubscriptionError
from stream.read.web.api import (
    INSTANT,
    Api,
    ApiError,
    error_response,
    guarded,
    json_response,
)
from stream.settings import Settings

MAX_FILTERS = 32


class NewSubscription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048)
    statuses: list[Status] = Field(default_factory=list, max_length=MAX_FILTERS)
    ports: list[str] = Field(default_factory=list, max_length=MAX_FILTERS)
    channels: list[Channel] = Field(default_factory=list, max_length=MAX_FILTERS)


@dataclass
class SubscriptionsApi:
    api: Api
    settings: Settings | None  # None: no webhook key here, so no changes

    def _buyer(self, request: web.Request, buyer_id: str) -> None:
        if not self.api.principal(request).may_see(buyer_id):
            raise ApiError(404, f"no buyer {buyer_id}")

    def _subscription(self, request: web.Request, buyer_id: str, sid: str) -> Subscription:
        self._buyer(request, buyer_id)
        record = self.api.read_model.subscription(sid)
        if record is None or record["buyer_id"] != buyer_id:
            raise ApiError(404, f"no subscription {sid}")
        return Subscription.model_validate(record)

    def _writable(self) -> Settings:
        if self.settings is None or self.settings.webhook_key is None:
            raise ApiError(503, "webhook subscriptions are not enabled here "
                                "(CUSTOMS_STREAM_WEBHOOK_KEY is not set)")
        return self.settings

    def listing(self, request: web.Request, buyer_id: str) -> dict[str, Any]:
        self._buyer(request, buyer_id)
        items = [Subscription.model_validate(s).shown()
                 for s in self.api.read_model.subscriptions_of(buyer_id)]
        return {"buyer_id": buyer_id, "items": items}

    def one(self, request: web.Request, buyer_id: str, subscription_id: str) -> dict[str, Any]:
        return self._subscription(request, buyer_id, subscription_id).shown()

    def deliveries(
        self, request: web.Request, buyer_id: str, subscription_id: str,
    ) -> dict[str, Any]:
        self._subscription(request, buyer_id, subscription_id)
        attempts = self.api.read_model.attempts_of(subscription_id)
        return {"subscription_id": subscription_id, "items": attempts[::-1]}

    async def create(self, request: web.Request, buyer_id: str) -> tuple[int, dict[str, Any]]:
        self._buyer(request, buyer_id)
        settings = self._writable()
        try:
            asked = NewSubscription.model_validate_json(await request.read())
        except ValidationError as exc:
            where = "; ".join(".".join(str(p) for p in e["loc"]) + f": {e['msg']}"
                              for e in exc.errors(include_input=False, include_url=False))
            raise ApiError(400, f"not a subscription: {where}") from None
        try:
            made, secret = await manage.add(
                settings, buyer_id, asked.url, [s.value for s in asked.statuses],
                asked.ports, [c.value for c in asked.channels], ensure=False)
        except SubscriptionError as exc:
            raise ApiError(400, str(exc)) from None
        return 201, {**made.shown(), "secret": secret}

    async def replay(
        self, request: web.Request, buyer_id: str, subscription_id: str,
    ) -> tuple[int, dict[str, Any]]:
        known = self._subscription(request, buyer_id, subscription_id)
        settings = self._writable()
        try:
            since = INSTANT.validate_python(request.query.get("since"))
        except ValidationError:
            raise ApiError(400, "since must be an RFC 3339 time with an offset") from None
        try:
            _, replay_id = await manage.replay(settings, known, since.timestamp())
        except SubscriptionError as exc:
            raise ApiError(400, str(exc)) from None
        return 202, {"subscription_id": subscription_id, "replay_id": replay_id,
                     "since": format_instant(since)}

    async def change(
        self, request: web.Request, buyer_id: str, subscription_id: str, what: manage.Change,
    ) -> tuple[int, dict[str, Any]]:
        known = self._subscription(request, buyer_id, subscription_id)
        changed, secret = await manage.change(self._writable(), known, what)
        shown = changed.shown() | {"state": "deleted" if what == "delete" else changed.state}
        return 200, shown | ({"secret": secret} if secret else {})


def _answer(produce: Any) -> Any:
    async def handler(request: web.Request) -> web.Response:
        try:
            status, body = await produce(request, **request.match_info)
            return json_response(body, status=status)
        except ApiError as exc:
            return error_response(exc)
    return handler


def add_routes(router: web.UrlDispatcher, answers: SubscriptionsApi) -> None:
    base = "/buyers/{buyer_id}/subscriptions"
    one = base + "/{subscription_id}"
    router.add_get(base, guarded(answers.listing))
    router.add_post(base, _answer(answers.create))
    router.add_get(one, guarded(answers.one))
    router.add_delete(one, _answer(
        lambda r, **m: answers.change(r, what="delete", **m)))
    for what in ("rotate", "pause", "resume"):
        router.add_post(f"{one}/{what}", _answer(
            lambda r, what=what, **m: answers.change(r, what=what, **m)))
    router.add_get(f"{one}/deliveries", guarded(answers.deliveries))
    router.add_post(f"{one}/replay", _answer(answers.replay))
