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

from bot.actions.plan import Plan
from bot.actions.submit import find_submitted, reason
from bot.ganeti.errors import (
    RapiForbidden,
    RapiServerError,
    RapiTlsError,
    RapiUnreachable,
)
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
    with pytest.raises(RapiServerError, match="cannot reach the master daemon.*; nothing was submitted"):
        writer(server, tls).migrate_instance("inst3.ganeti.test", reason="r")
    assert len(server.requests_for(MIGRATE)) == 1  # the session retries GETs 3 times, never this


@pytest.mark.parametrize(("status", "body"), [
    (504, b'{"code": 504, "message": "Timeout while talking to the master daemon"}'),  # LUXI may queue it yet
    (500, b'{"code": 500, "message": "Error while submitting the job"}'),  # any other master daemon error
    (502, b"<html><body>Bad Gateway</body></html>"),  # a proxy in front of RAPI, after passing the request on
])
def test_a_5xx_that_may_hide_a_queued_job_is_uncertain(server, tls, status, body):
    server.answer(MIGRATE, Answer(status, body))
    with pytest.raises(SubmissionUncertain, match=f"RAPI answered {status} .*may have been submitted anyway"):
        writer(server, tls).migrate_instance("inst3.ganeti.test", reason="r")


def test_a_job_queue_that_refuses_jobs_submitted_nothing(server, tls):
    server.answer(MIGRATE, Answer(503, b'{"code": 503, "message": "Job queue is drained, cannot submit"}'))
    with pytest.raises(RapiServerError, match=r"refused the job \(Job queue is drained, cannot submit\); "
                                              "nothing was submitted$"):
        writer(server, tls).migrate_instance("inst3.ganeti.test", reason="r")


def test_a_certificate_that_is_not_the_pinned_one_submitted_nothing(server, tls):
    with pytest.raises(RapiTlsError) as caught:
        writer(server, tls, fingerprint="0" * 64).migrate_instance("inst3.ganeti.test", reason="r")
    assert str(caught.value).startswith("lab: the TLS certificate of its RAPI does not match the pinned "
                                        "fingerprint, so nothing was sent.")
    assert ".;" not in str(caught.value)
    assert server.requests_for(MIGRATE) == []


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


def test_a_reason_cut_for_length_keeps_the_token_the_job_list_is_searched_by(server, tls):
    plan = Plan("migrate", "gnt-fsn", "tb-build-02.torproject.org", "fsn-node-05.torproject.org",
                "fsn-node-06.torproject.org", 4096)
    why = "T41234 " + "host reboot for the kernel security update, see the pager alert and the ticket " * 3
    client = writer(server, tls)
    path = "/2/instances/tb-build-02.torproject.org/migrate"
    server.answer(path, Answer(200, b"4711"))
    client.migrate_instance(plan.target, reason=reason(plan, "k7q2x", "xmpp:tor-admin@conference.torproject.org",
                                                       "xmpp:anarcat@torproject.org", "xmpp:lavamind@torproject.org",
                                                       why[:200]), target_node=plan.destination)
    (sent,) = server.requests_for(path)[0].query["reason"]
    assert len(sent) == 400 and sent.endswith("…")  # cut at its end
    # the cluster's job list, holding the job with the reason exactly as the server received it
    jobs = [{"id": 4710, "ops": [{"OP_ID": "OP_INSTANCE_MIGRATE", "reason": [["gnt:user", "gntbot(zzzzz): eve", 1]]}]},
            {"id": 4711, "ops": [{"OP_ID": "OP_INSTANCE_MIGRATE", "reason": [["gnt:user", sent, 1]]}]}]
    server.answer("/2/jobs", Answer(200, json.dumps(jobs).encode()))
    assert find_submitted(client, "k7q2x") == (4711,)
