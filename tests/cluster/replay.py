"""A transport that answers from memory: the real client, minus the socket.

Mounted on a `RapiClient`'s session, it answers each request with the body
held for its path, as a real urllib3 response, so that everything from
reading the body to building the models runs as it does over the network.
For the benchmark and the fuzz suite, where thousands of answers must be
read quickly; fault injection over a real socket is `fakerapi`'s job.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.response import HTTPResponse

from bot.ganeti.rapi import RapiClient
from bot.ganeti.settings import ClusterSettings, Credentials

SETTINGS = ClusterSettings("gnt-fsn", "https://fsn.example.org:5080", Credentials("bench", "bench"),
                           fingerprint="00" * 32, cache_seconds=0)


class Replay(HTTPAdapter):
    """Answers ``bodies[path]`` (the path without its query) with status 200, and counts requests."""

    def __init__(self, bodies: Mapping[str, bytes]) -> None:
        super().__init__()
        self.bodies = dict(bodies)
        self.requests: list[str] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        path = (request.path_url or "").split("?", 1)[0]
        self.requests.append(path)
        body = self.bodies.get(path)
        raw = HTTPResponse(body=io.BytesIO(body or b""), status=200 if body is not None else 404,
                           headers={"Content-Type": "application/json"}, preload_content=False)
        return self.build_response(request, raw)


def replaying(bodies: Mapping[str, bytes], settings: ClusterSettings = SETTINGS) -> tuple[RapiClient, Replay]:
    """A real client for ``settings`` whose requests ``Replay`` answers."""
    client = RapiClient(settings)
    replay = Replay(bodies)
    client.session.mount("https://", replay)
    return client, replay
