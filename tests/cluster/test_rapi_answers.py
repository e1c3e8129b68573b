"""A broken answer is that cluster's error, in words; the other clusters still answer.

gnt-fsn is the fault-injection server sending a broken answer, gnt-chi a
healthy copy of the lab. Whatever gnt-fsn sends, the channel sees gnt-chi's
block and one line saying what was wrong with gnt-fsn's answer: never
"internal error", never data from somewhere else.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest
from clusterkit import Chat, pinned
from fakerapi import Answer, fixture, recorded_path

INSTANCES = "/2/query/instance"
CANNOT_READ = ("gnt-fsn: the bot cannot read RAPI's answer for {what} ({problem}); is a proxy in the way, or is "
               "this a Ganeti version the bot does not know?")


@pytest.fixture
def chat(fake_rapi, healthy, tls) -> Chat:
    return Chat(pinned(fake_rapi, tls, timeout=2), pinned(healthy, tls, name="gnt-chi"))


Change = Callable[[dict[str, Any], list[str]], object]


def listing_with(change: Change) -> bytes:
    """The recorded instance listing, edited by ``change(body, field_names)``."""
    body = json.loads(fixture("instances.json"))
    change(body, [field["name"] for field in body["fields"]])
    return json.dumps(body).encode()


def set_cell(row: int, field: str, value: object) -> Change:
    return lambda body, names: body["data"][row].__setitem__(names.index(field), [0, value])


def drop_field(field: str) -> Change:
    def change(body: dict[str, Any], names: list[str]) -> None:
        column = names.index(field)
        del body["fields"][column]
        for row in body["data"]:
            del row[column]
    return change


@pytest.mark.parametrize(("body", "problem"), [
    (listing_with(drop_field("name")), "instance 1: 'name' is missing"),
    (listing_with(set_cell(2, "snodes", 5)), "instance 3: 'snodes' should be a list of strings, not a number"),
    (listing_with(set_cell(0, "be/maxmem", 10**400)), "instance 1: 'be/maxmem' is a number out of range"),
    (listing_with(set_cell(1, "tags", {"env": "prod"})), "instance 2: 'tags' should be a list of strings, not an object"),
    (listing_with(set_cell(0, "name", "../../2/info")),
     "instance 1: 'name' should be a host name (letters, digits, '.', '-', '_')"),
    (listing_with(lambda body, _: body.update(data=None)), "'data' should be a list, not null"),
    (listing_with(lambda body, _: body["data"][0].pop()), "row 1 should be a list of 13 cells, not a list of 12"),
    (listing_with(lambda body, _: body["data"][4].__setitem__(0, "inst5")),
     "row 5, field 'name': a cell should be [status, value], not a string"),
    (b'[{"name": "inst1"}]', "the answer should be an object, not a list"),
])
def test_a_malformed_listing_is_that_clusters_error(chat, fake_rapi, body, problem):
    fake_rapi.answer(INSTANCES, Answer(200, body))
    lines = chat.say("!instances")
    assert lines[0] == CANNOT_READ.format(what="the instance listing", problem=problem)
    assert lines[1].startswith("gnt-chi: 5 instances (4 running, 1 ADMIN_down)")


@pytest.mark.parametrize(("path", "body", "command", "what", "problem"), [
    ("/2/info", b'["cluster.example.org"]', "!cluster @gnt-fsn", "the cluster information",
     "the cluster information should be an object, not a list"),
    ("/2/instances/inst5.ganeti.test", b'{"name": "inst5.ganeti.test", "beparams": [4]}',
     "!instance inst5.ganeti.test @gnt-fsn", "instance inst5.ganeti.test", "'beparams' should be an object, not a list"),
    ("/2/instances/inst5.ganeti.test", b'{"name": "inst5.ganeti.test", "ctime": 1e300}',
     "!instance inst5.ganeti.test @gnt-fsn", "instance inst5.ganeti.test", "'ctime' should be seconds since 1970, not a number"),
    ("/2/nodes/node2.ganeti.test", b'{"name": "node2.ganeti.test", "group.uuid": ["x"]}', "!node node2 @gnt-fsn",
     "node node2.ganeti.test", "'group.uuid' should be a string, not a list"),
    ("/2/instances", b'["inst5.ganeti.test"]', "!instance inst5 @gnt-fsn", "the list of instances",
     "an entry should be an object, not a string"),
    (recorded_path("job-failed.json"), b'{"id": 12, "status": "error", "oplog": [[[1, null]]]}',
     f"!job {recorded_path('job-failed.json').rsplit('/', 1)[1]} @gnt-fsn",
     f"job {recorded_path('job-failed.json').rsplit('/', 1)[1]}",
     "a log entry should be [serial, time, type, message], not a list"),
])
def test_a_malformed_item_is_that_clusters_error(chat, fake_rapi, path, body, command, what, problem):
    fake_rapi.answer(path, Answer(200, body))
    assert chat.say(command) == [CANNOT_READ.format(what=what, problem=problem)]


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
    return listing_with(lambda body, names: [row.__setitem__(names.index("tags"), [0, ["x" * 4 * 1024 * 1024]])
                                            for row in body["data"]])


TOO_BIG = "gnt-fsn: the answer for /2/query/instance is over 16 MiB, more than the bot reads (is a proxy in the way?)"


def test_a_body_larger_than_the_limit_is_refused_by_its_length(chat, fake_rapi):
    body = huge_listing()
    assert len(body) > 16 * 1024 * 1024
    fake_rapi.answer(INSTANCES, Answer(200, body))
    assert chat.say("!instances @gnt-fsn") == [TOO_BIG]


def test_an_answer_of_too_many_values_is_the_clusters_error(chat, fake_rapi):
    # 5 million empty rows (14 MiB, under the size limit) held the interpreter
    # lock for 2-4 s while they were decoded: every transport stalled.
    fake_rapi.answer(INSTANCES, Answer(200, b'{"fields": [], "data": [' + b",".join([b"[]"] * 150_000) + b"]}"))
    lines = chat.say("!instances")
    assert lines[0] == TOO_MANY
    assert lines[1].startswith("gnt-chi: ")


TOO_MANY = ("gnt-fsn: the answer for /2/query/instance holds more values than the bot reads (over 100,000 lists "
            "and objects or 400,000 values; is a proxy in the way?)")


def padded_listing(filler: bytes, count: int) -> bytes:
    """The recorded listing with ``count`` copies of ``filler`` in a field the bot ignores."""
    return listing_with(lambda body, names: body.__setitem__("pad", [])).replace(
        b'"pad": []', b'"pad": [' + filler * count + b"0]")


@pytest.mark.parametrize(("filler", "gzipped"), [(b"12,", False), (b"1.5,", False), (b'"\\u00e9",', False),
                                                  (b"12,", True)])
def test_an_answer_of_too_many_numbers_or_strings_is_the_clusters_error(chat, fake_rapi, filler, gzipped):
    # 5.5 million numbers in an ignored field (16 MiB, or 16 KiB gzipped) held
    # the interpreter lock for 1.2 s while they were decoded.
    body = padded_listing(filler, 450_000)
    headers = (("Content-Encoding", "gzip"),) if gzipped else ()
    fake_rapi.answer(INSTANCES, Answer(200, gzip.compress(body) if gzipped else body, headers=headers))
    lines = chat.say("!instances")
    assert lines[0] == TOO_MANY
    assert lines[1].startswith("gnt-chi: 5 instances")


def test_a_listing_of_thousands_of_instances_is_still_read(chat, fake_rapi):
    one = json.loads(fixture("instances.json"))
    many = {"fields": one["fields"], "data": [one["data"][n % 5] for n in range(5_000)]}
    fake_rapi.answer(INSTANCES, Answer(200, json.dumps(many).encode()))
    assert chat.say("!instances @gnt-fsn")[0].startswith("gnt-fsn: 5000 instances")


def test_a_body_without_a_length_is_read_only_up_to_the_limit(chat, fake_rapi):
    fake_rapi.answer(INSTANCES, Answer(200, b" " * 1024 * 1024, repeat=64, length=False))  # 64 MiB of blanks
    assert chat.say("!instances @gnt-fsn") == [TOO_BIG]


def test_a_body_that_trickles_in_is_given_up_after_the_timeout(chat, fake_rapi):
    fake_rapi.answer(INSTANCES, Answer(200, b" " * 1024, repeat=12, pause=0.25))  # 3 s for 12 KiB
    assert chat.say("!instances @gnt-fsn") == [
        "gnt-fsn: RAPI did not finish sending its answer within 2s (master busy or network trouble?)"]
