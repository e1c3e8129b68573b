"""The writes of !drain and !migrate-back: in order, each waiting for the one it needs.

The fake RAPI records what is sent (the lab tests show Ganeti honouring the
order); fault injection shows a later write that fails stopping the rest.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from clusterkit import pinned
from fakerapi import Answer, FakeRapi

from bot.actions.plan import Move, Plan
from bot.actions.submit import Submitted, submit
from bot.ganeti.settings import Credentials
from bot.ganeti.writes import WriteClient

NODE = "node3.ganeti.test"
MODIFY = f"/2/nodes/{NODE}/modify"


@pytest.fixture
def server(tls):
    fake = FakeRapi(tls.cert_file, tls.key_file, credentials=("operator", "operator-secret")).start()
    yield fake
    fake.stop()


def writer(server: FakeRapi, tls) -> WriteClient:
    return WriteClient(replace(pinned(server, tls, "lab"), write=Credentials("operator", "operator-secret")))


def test_a_drain_migrates_first_and_drains_in_a_job_that_waits_for_the_migration(server, tls):
    server.answer(f"/2/nodes/{NODE}/migrate", Answer(200, b"40"))
    server.answer(MODIFY, Answer(200, b"41"))
    plan = Plan("drain", "lab", NODE, moves=(Move("inst5.ganeti.test", "sharedfile", 768, None),), drained=True)
    assert submit(writer(server, tls), plan, "gntbot(k7q2x): alice") == Submitted((40, 41))
    migrate, drain = server.seen
    assert (migrate.method, migrate.body, migrate.query["reason"]) == ("POST", b"", ["gntbot(k7q2x): alice"])
    assert (drain.method, drain.path, json.loads(drain.body)) == (
        "POST", MODIFY, {"drained": True, "auto_promote": True, "depends": [[40, ["success"]]]})
    assert drain.query["reason"] == ["gntbot(k7q2x): alice"]


def test_a_migrate_back_undrains_first_and_each_migration_waits_for_it(server, tls):
    server.answer(MODIFY, Answer(200, b"50"))
    server.answer("/2/instances/inst5.ganeti.test/migrate", Answer(200, b"51"))
    server.answer("/2/instances/web.ganeti.test/migrate", Answer(200, b"52"))
    moves = (Move("inst5.ganeti.test", "sharedfile", 768, NODE, "node2.ganeti.test"),
             Move("web.ganeti.test", "drbd", 4096, NODE, "node2.ganeti.test"))
    plan = Plan("migrate-back", "lab", NODE, moves=moves, drained=False)
    assert submit(writer(server, tls), plan, "r") == Submitted((50, 51, 52))
    undrain, shared, drbd = (json.loads(seen.body) for seen in server.seen)
    assert undrain == {"drained": False}
    # shared storage is told where to go; DRBD goes to its secondary, which this node is now
    assert shared == {"mode": "live", "target_node": NODE, "depends": [[50, ["success"]]]}
    assert drbd == {"mode": "live", "depends": [[50, ["success"]]]}


@pytest.mark.parametrize(("status", "said"), [
    (400, "the migration of a.ganeti.test and the rest were not submitted: "),  # RAPI refused it
    (500, "the migration of a.ganeti.test may or may not have been submitted ("),  # the master daemon may have it
])
def test_a_later_write_that_fails_stops_the_rest_and_says_so(server, tls, status, said):
    server.answer(MODIFY, Answer(200, b"60"))
    body = json.dumps({"code": status, "message": "boom"}).encode()
    server.answer("/2/instances/a.ganeti.test/migrate", Answer(status, body))
    moves = tuple(Move(f"{name}.ganeti.test", "sharedfile", 1, NODE, "node2.ganeti.test") for name in "ab")
    done = submit(writer(server, tls), Plan("migrate-back", "lab", NODE, moves=moves, drained=False), "r")
    assert done.jobs == (60,)
    assert done.unsent.startswith(said), done.unsent
    assert [seen.path for seen in server.seen] == [MODIFY, "/2/instances/a.ganeti.test/migrate"]  # b never sent
