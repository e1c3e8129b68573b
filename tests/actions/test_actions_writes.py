"""Submitting jobs: once, with the reason, in the shape the server really reads.

Fault injection only (the fake RAPI): what the bot does when a write fails in
a way the real lab cannot be made to fail. The happy paths run on the lab.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from clusterkit import pinned
from fakerapi import Answer, FakeRapi

from bot.ganeti.errors import RapiForbidden, RapiServerError, RapiUnreachable
from bot.ganeti.settings import Credentials
from bot.ganeti.writes import (
    NoWriteCredentials,
    SubmissionUncertain,
    WriteClient,
    clean_reason,
)

WRITER = Credentials("operator", "operator-secret")
MIGRATE = "/2/instances/inst3.ganeti.test/migrate"


@pytest.fixture
def server(tls):
    fake = FakeRapi(tls.cert_file, tls.key_file, credentials=("operator", "operator-secret")).start()
    yield fake
    fake.stop()


def writer(server: FakeRapi, tls, **changes) -> WriteClient:
    return WriteClient(replace(pinned(server, tls, "lab", retries=3), write=WRITER, **changes))


def test_a_write_that_fails_with_502_is_not_sent_again(server, tls):
    server.answer(MIGRATE, Answer(502, b'{"code": 502, "message": "Master seems to be unreachable"}'))
    with pytest.raises(RapiServerError, match="cannot reach the master daemon"):
        writer(server, tls).migrate_instance("inst3.ganeti.test", reason="r")
    assert len(server.requests_for(MIGRATE)) == 1  # the session retries GETs 3 times, never this


def test_no_answer_in_time_may_mean_submitted_and_says_so(server, tls):
    server.answer(MIGRATE, Answer(200, b"42", delay=1.5))
    with pytest.raises(SubmissionUncertain, match="may have been submitted anyway: look at !jobs"):
        writer(server, tls, timeout=0.5).migrate_instance("inst3.ganeti.test", reason="r")
    assert len(server.requests_for(MIGRATE)) == 1


def test_a_refused_connection_submitted_nothing(tls):
    settings = replace(pinned(FakeRapi(tls.cert_file, tls.key_file), tls, "lab"), url="https://127.0.0.1:9",
                       write=WRITER)
    with pytest.raises(RapiUnreachable, match="nothing was submitted"):
        WriteClient(settings).activate_disks("inst3.ganeti.test", reason="r")


def test_the_write_user_without_the_write_option_is_told_what_to_fix(server, tls):
    server.answer(MIGRATE, Answer(403, b'{"code": 403, "message": "Forbidden"}'))
    with pytest.raises(RapiForbidden, match="write user may not change the cluster.*'write' option") as caught:
        writer(server, tls).migrate_instance("inst3.ganeti.test", reason="r")
    assert "operator" not in str(caught.value)  # no user name in what the channel sees


def test_a_cluster_without_a_write_user_cannot_be_acted_on(server, tls):
    with pytest.raises(NoWriteCredentials, match="no write user is configured"):
        WriteClient(pinned(server, tls, "lab"))


def test_bodies_reasons_and_methods_are_those_the_server_reads(server, tls):
    client = writer(server, tls)
    server.answer(MIGRATE, Answer(200, b"7"))
    server.answer("/2/nodes/node2.ganeti.test/migrate", Answer(200, b'"8"'))  # old servers: a digit string
    assert client.migrate_instance("inst3.ganeti.test", reason="gntbot: alice in irc:#ops: migrate\n[T1]",
                                   target_node="node1.ganeti.test", dry_run=True) == 7
    assert client.migrate_node("node2.ganeti.test", reason="gntbot: bob") == 8
    migrate, node = server.seen
    assert (migrate.method, json.loads(migrate.body)) == ("PUT", {"mode": "live", "target_node": "node1.ganeti.test",
                                                                   "dry_run": True})
    assert migrate.query["reason"] == ["gntbot: alice in irc:#ops: migrate [T1]"]  # one printable line
    # node migrate: any query parameter makes RAPI drop the body, so there is none
    assert (node.method, node.body, node.query) == ("POST", b"", {"reason": ["gntbot: bob"], "mode": ["live"]})


def test_reasons_are_one_bounded_line():
    assert clean_reason("a\x00b\r\nc") == "a b c"
    assert len(clean_reason("x" * 1000)) == 400
