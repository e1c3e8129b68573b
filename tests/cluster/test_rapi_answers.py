"""A broken answer is that cluster's error, in words; the other clusters still answer.

gnt-fsn is the fault-injection server sending a broken answer, gnt-chi a
healthy copy of the lab. Whatever gnt-fsn sends, the channel sees gnt-chi's
block and one line saying what was wrong with gnt-fsn's answer: never
"internal error", never data from somewhere else.
"""

from __future__ import annotations

import json

import pytest

from clusterkit import Chat, pinned
from fakerapi import Answer, fixture, recorded_path

INSTANCES = "/2/query/instance"


@pytest.fixture
def chat(fake_rapi, healthy, tls) -> Chat:
    return Chat(pinned(fake_rapi, tls, timeout=2), pinned(healthy, tls, name="gnt-chi"))


def test_an_info_job_that_cannot_be_read_only_leaves_the_disk_locations_unknown(chat, fake_rapi):
    fake_rapi.answer("/2/instances/inst5.ganeti.test/info", Answer(200, '"²"'.encode()))
    lines = chat.say("!instance inst5 @gnt-fsn")
    assert lines[0].startswith("inst5.ganeti.test @gnt-fsn: running")
    assert "(where the disks live is unknown: the info job did not complete)" in lines[2]


@pytest.mark.parametrize("body", [
    b"<html><body>502 Bad Gateway</body></html>",
    b"[" * 100_000,  # nested deeper than any JSON parser goes
    b'{"fields": [], "data": [\xff]}',
])
def test_something_that_is_not_json_is_that_clusters_error(chat, fake_rapi, body):
    fake_rapi.answer(INSTANCES, Answer(200, body))
    lines = chat.say("!instances")
    assert lines[0] == ("gnt-fsn: RAPI answered /2/query/instance with something that is not JSON "
                        "(is a proxy in the way?)")
    assert lines[1].startswith("gnt-chi: 5 instances")


def test_a_redirect_is_not_followed(chat, fake_rapi, healthy):
    elsewhere = f"{healthy.url}{recorded_path('nodes.json')}"
    fake_rapi.answer("/2/query/node", Answer(302, b"", headers=(("Location", elsewhere),)))
    lines = chat.say("!nodes")
    assert lines[0] == ("gnt-fsn: RAPI answered with a redirect (302), which the bot never follows: "
                        "check url in [clusters.gnt-fsn]")
    assert lines[1].startswith("gnt-chi: 3 nodes")
    assert len(healthy.requests_for("/2/query/node")) == 1  # gnt-chi's own; nothing followed the redirect


def huge_listing() -> bytes:
    """A valid instance listing of 20 MiB: each of the five instances has a tag of 4 MiB."""
    body = json.loads(fixture("instances.json"))
    tags = [field["name"] for field in body["fields"]].index("tags")
    for row in body["data"]:
        row[tags] = [0, ["x" * 4 * 1024 * 1024]]
    return json.dumps(body).encode()


TOO_BIG = "gnt-fsn: the answer for /2/query/instance is over 16 MiB, more than the bot reads (is a proxy in the way?)"


def test_a_body_larger_than_the_limit_is_refused_by_its_length(chat, fake_rapi):
    body = huge_listing()
    assert len(body) > 16 * 1024 * 1024
    fake_rapi.answer(INSTANCES, Answer(200, body))
    assert chat.say("!instances @gnt-fsn") == [TOO_BIG]


def test_a_body_without_a_length_is_read_only_up_to_the_limit(chat, fake_rapi):
    fake_rapi.answer(INSTANCES, Answer(200, b" " * 1024 * 1024, repeat=64, length=False))  # 64 MiB of blanks
    assert chat.say("!instances @gnt-fsn") == [TOO_BIG]


def test_a_body_that_trickles_in_is_given_up_after_the_timeout(chat, fake_rapi):
    fake_rapi.answer(INSTANCES, Answer(200, b" " * 1024, repeat=12, pause=0.25))  # 3 s for 12 KiB
    assert chat.say("!instances @gnt-fsn") == [
        "gnt-fsn: RAPI did not finish sending its answer within 2s (master busy or network trouble?)"]
