"""The bot's real HTTP intake on loopback, and the client that feeds it.

Refused requests get a status the client can act on, are logged, and say
nothing in the rooms; the client queues what it cannot deliver and sends it
later, in order, once.
"""

from __future__ import annotations

import json
import time

import requests

from bot.campaigns import events, signing
from bot.campaigns.client import AnnounceClient
from bot.campaigns.settings import AnnounceSettings
from bot.web.intake import Intake

from .kit import SECRET, free_port, start, step, with_bot


def post(url: str, body: bytes, *, secret: bytes = SECRET, stamp: int | None = None, source: str = "reboot-script",
         content_type: str = "application/json") -> requests.Response:
    headers = signing.headers(secret, source, int(time.time()) if stamp is None else stamp, body)
    headers["Content-Type"] = content_type
    return requests.post(url + "/v1/events", data=body, headers=headers, timeout=5)


def encoded(event: events.Event) -> bytes:
    return json.dumps(events.to_wire(event)).encode()


def test_a_signed_event_is_taken_and_every_bad_request_is_refused_with_its_status(tmp_path, caplog):
    first = start(["h1", "h2"], time.time())
    answers = {}

    def body(url: str, heard: list[str], intake: Intake) -> None:
        answers["bad signature"] = post(url, encoded(first), secret=b"not-the-secret-at-all-0123")
        answers["unknown source"] = post(url, encoded(first), source="someone")
        answers["stale"] = post(url, encoded(first), stamp=int(time.time()) - 3600)
        answers["oversized"] = post(url, b'{"type": "note", "text": "' + b"x" * 4096 + b'"}')
        answers["not json"] = post(url, b"{this is not json")
        answers["not an event"] = post(url, b'{"type": "start", "campaign": "x"}')
        answers["form"] = post(url, encoded(first), content_type="application/x-www-form-urlencoded")
        answers["elsewhere"] = post(url, encoded(start(["h1"], time.time(), campaign="spam-1",
                                                       rooms=["irc:#other"])))
        assert not heard  # nothing refused was said
        answers["accepted"] = post(url, encoded(first))
        answers["replay"] = post(url, encoded(first))
        answers["no campaign"] = post(url, encoded(step("h1", "down", time.time(), campaign="nope-1")))

    heard = with_bot(tmp_path, body)
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {"bad signature": 401, "unknown source": 401, "stale": 401, "oversized": 413, "not json": 400,
                        "not an event": 400, "form": 415, "elsewhere": 403, "accepted": 202, "replay": 409,
                        "no campaign": 422}
    assert answers["stale"].json()["error"].startswith("stale timestamp")
    assert answers["replay"].json()["duplicate"] is True
    assert len(heard) == 1 and heard[0].startswith("[reboot] START anarcat: reboot of 2 hosts")
    refusals = [record.getMessage() for record in caplog.records if "intake: refused" in record.getMessage()]
    assert len(refusals) == 10 and "127.0.0.1" in refusals[0]
    assert not any(SECRET.decode() in record.getMessage() for record in caplog.records)


def test_the_client_queues_while_the_bot_is_away_and_delivers_in_order_once(tmp_path):
    port = free_port()
    client = AnnounceClient(AnnounceSettings(f"http://127.0.0.1:{port}", "reboot-script", SECRET, timeout=1),
                            tmp_path / "queue")
    now = time.time()
    away = [start(["h1", "h2"], now - 600), step("h1", "emptying", now - 500, count=2), step("h1", "done", now - 60)]
    for event in away:
        report = client.send(event)
    assert report.problem.startswith(f"cannot reach http://127.0.0.1:{port}") and report.waiting == 3

    def body(url: str, heard: list[str], intake: Intake) -> None:
        client.send(away[1])  # the same event again: queued once, sent once
        assert client.flush().waiting == 0
        assert client.send(step("h2", "skipped", time.time())).delivered == 1

    heard = with_bot(tmp_path, body, port)
    assert heard[0].startswith("[reboot] START")
    assert heard[1:3] == ["[reboot 1/2 0%] h1: migrating 2 instances off",
                          "[reboot 1/2 50%] h1 done in 7m20s, 2 instances migrated off — ETA " + heard[2].split("ETA ")[1]]
    assert heard[2].endswith("(≈9 min/host)")  # from when things happened, not when they arrived
    assert heard[3:] == ["[reboot 2/2 100%] h2 skipped: no reboot needed"]
    assert client.waiting() == []


def test_the_intake_speaks_tls_with_its_own_certificate_and_the_client_verifies_it(tmp_path):
    import asyncio

    import trustme

    from bot.campaigns.service import CampaignService, wait_idle
    from bot.campaigns.settings import IntakeSettings, Source
    from bot.campaigns.store import CampaignStore
    from bot.core.announce import Announcer
    from bot.state.store import Store

    from .kit import SETTINGS

    authority = trustme.CA()
    leaf = authority.issue_cert("127.0.0.1")
    cert, key, ca = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    leaf.cert_chain_pems[0].write_to_path(cert)
    leaf.private_key_pem.write_to_path(key)
    authority.cert_pem.write_to_path(ca)
    port = free_port()
    heard: list[str] = []

    async def scenario() -> tuple[str, str]:
        with Store.open(tmp_path / "state") as store:
            announcer = Announcer()
            announcer.attach("irc", lambda target, lines: heard.extend(lines))
            service = CampaignService(CampaignStore(store), announcer, SETTINGS)
            await service.start()
            intake = Intake(IntakeSettings("127.0.0.1", port, (Source("reboot-script", SECRET),), tls_cert=cert,
                                           tls_key=key), service, SETTINGS)
            await intake.start()
            url = f"https://127.0.0.1:{port}"
            trusting = AnnounceClient(AnnounceSettings(url, "reboot-script", SECRET, ca_file=ca), tmp_path / "q1")
            doubting = AnnounceClient(AnnounceSettings(url, "reboot-script", SECRET), tmp_path / "q2")
            try:
                refused = await asyncio.to_thread(doubting.send, start(["h9"], time.time(), campaign="tls-2"))
                taken = await asyncio.to_thread(trusting.send, start(["h1"], time.time(), campaign="tls-1"))
                await wait_idle(service, 5)
            finally:
                await intake.stop()
                await service.close()
            return refused.problem, taken.problem

    refused, taken = asyncio.run(scenario())
    assert refused.startswith("cannot reach https://127.0.0.1") and refused.endswith("SSLError") and taken == ""
    assert len(heard) == 1 and "campaign tls-1" in heard[0]  # the unverified one never got through
