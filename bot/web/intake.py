"""The signed event intake: ``POST /v1/events`` inside ``gntbot run``.

One event per request, a JSON object (`bot.campaigns.events`), signed as
`bot.campaigns.signing` says with the secret of the source that sends it.
Checks, in order, each refusal logged with the sender's address and answered
with a JSON ``{"error": ...}`` and a status the client can act on:

- body larger than ``max_body`` → 413; not ``application/json`` → 415;
- unknown source, missing or wrong signature → 401;
- timestamp outside the skew window → 401 (a captured request goes stale);
- not JSON, or not a valid event → 400;
- rooms the source may not announce in → 403;
- an event id this source sent before → 409, with ``"duplicate": true``
  (a replay, or a resent queued event that had arrived: either way it is not
  taken twice, and the client may forget it);
- an event that does not fit its campaign (no such campaign, ended) → 422.

Nothing refused reaches the campaign, so nothing refused is announced.
An accepted event gets 202.
"""

from __future__ import annotations

import json
import logging
import ssl
import time
from collections import Counter
from collections.abc import Callable

from aiohttp import web

from bot.campaigns import events, signing
from bot.campaigns.service import CampaignService, DuplicateEvent
from bot.campaigns.settings import CampaignSettings, IntakeSettings
from bot.campaigns.state import CampaignConflict

log = logging.getLogger(__name__)

PATH = "/v1/events"


class Refused(Exception):
    def __init__(self, status: int, reason: str, **extra: object) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.extra = extra


class Intake:
    """The HTTP server; `start` binds it, `stop` closes it."""

    def __init__(self, settings: IntakeSettings, service: CampaignService, campaigns: CampaignSettings,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.service = service
        self.campaigns = campaigns
        self._clock = clock
        self._runner: web.AppRunner | None = None
        self.answers: Counter[int] = Counter()  # HTTP status → how many requests got it

    async def start(self) -> None:
        app = web.Application(client_max_size=self.settings.max_body)
        app.router.add_post(PATH, self._post)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port, ssl_context=self._tls(),
                           reuse_address=True)
        await site.start()
        log.info("intake: listening on %s", ", ".join(self.addresses))

    @property
    def addresses(self) -> list[str]:
        scheme = "https" if self.settings.tls_cert else "http"
        assert self._runner is not None
        return [f"{scheme}://{host}:{port}" if ":" not in host else f"{scheme}://[{host}]:{port}"
                for host, port, *_ in self._runner.addresses]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _tls(self) -> ssl.SSLContext | None:
        if self.settings.tls_cert is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.settings.tls_cert, self.settings.tls_key)
        return context

    async def _post(self, request: web.Request) -> web.Response:
        source = request.headers.get(signing.SOURCE_HEADER, "")[:64]
        try:
            event = await self._checked(request, source)
            await self.service.submit(event, source, self._clock())
        except Refused as refusal:
            return self._refuse(request, source, refusal)
        except DuplicateEvent as error:
            return self._refuse(request, source, Refused(409, str(error), duplicate=True))
        except CampaignConflict as error:
            return self._refuse(request, source, Refused(422, str(error)))
        self.answers[202] += 1
        log.info("intake: %s event %s of campaign %s from %s", events.type_name(event), event.id,
                 event.campaign, source)
        return web.json_response({"accepted": event.id}, status=202)

    async def _checked(self, request: web.Request, source_name: str) -> events.Event:
        settings = self.settings
        if request.content_length is not None and request.content_length > settings.max_body:
            raise Refused(413, f"body of {request.content_length} bytes, the limit is {settings.max_body}")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise Refused(413, f"body over the limit of {settings.max_body} bytes") from None
        if request.content_type != "application/json":
            raise Refused(415, "send the event as application/json")
        source = settings.source(source_name)
        timestamp = request.headers.get(signing.TIMESTAMP_HEADER, "")
        given = request.headers.get(signing.SIGNATURE_HEADER, "")
        if source is None or not given or not signing.valid(source.secret, source.name, timestamp, body, given):
            raise Refused(401, "unknown source or bad signature")
        now = self._clock()
        if not timestamp.isdigit() or abs(now - int(timestamp)) > settings.skew_seconds:
            raise Refused(401, f"stale timestamp: the request must be signed within {settings.skew_seconds:.0f} s "
                               f"of the bot's clock (check the sender's clock)")
        try:
            event = events.parse(json.loads(body))
        except (ValueError, UnicodeDecodeError):
            raise Refused(400, "the body is not JSON") from None
        except events.InvalidEvent as error:
            raise Refused(400, f"not a valid event: {error}") from None
        if event.time > now + settings.skew_seconds:
            raise Refused(400, "the event's time is in the future (check the sender's clock)")
        if isinstance(event, events.CampaignStarted) and event.rooms:
            allowed = frozenset(source.rooms) or self.campaigns.all_rooms
            outside = [room for room in event.rooms if room not in allowed]
            if outside:
                raise Refused(403, f"source {source.name} may not announce in {outside[0]}")
        return event

    def _refuse(self, request: web.Request, source: str, refusal: Refused) -> web.Response:
        self.answers[refusal.status] += 1
        log.warning("intake: refused a request from %s (source %r) with %d: %s", request.remote, source,
                    refusal.status, refusal.reason)
        return web.json_response({"error": refusal.reason, **refusal.extra}, status=refusal.status)
