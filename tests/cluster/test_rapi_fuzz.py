"""Fuzzing the RAPI models: whatever a cluster answers, the bot reads it or says what was wrong.

Answers are random JSON shaped like the lab's recorded ones (the fixtures
with values replaced, fields dropped, containers swapped), unlike them (any
JSON at all), or not JSON (any bytes). Each goes through the real client
(body reading, decoding) and the real `Cluster` (models, checks) over an
in-memory transport, and the properties are:

- reading either gives models or raises a `RapiError` of that cluster, never
  any other exception (which the channel would see as "internal error");
- every model that was read renders (`bot.commands.clusterview`) without
  failing, into lines of text.

``GNTBOT_FUZZ_EXAMPLES`` sets the examples per test (CI: the default below);
``bench/fuzz_rapi.py`` runs the same suite much longer.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from fakerapi import fixture, recorded_path
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st
from replay import SETTINGS, replaying

from bot.commands import clusterview as view
from bot.ganeti import capacity, filters
from bot.ganeti.cluster import Cluster
from bot.ganeti.errors import RapiError
from bot.ganeti.names import tag_matcher
from bot.ganeti.rapi import RapiClient

T = TypeVar("T")
EXAMPLES = int(os.environ.get("GNTBOT_FUZZ_EXAMPLES", "400"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NOW = datetime(2026, 6, 1, tzinfo=UTC)
INFO_JOB, JOB = recorded_path("job-instance-query.json"), recorded_path("job-failed.json")
LISTINGS = {"/2/query/instance": "instances.json", "/2/query/node": "nodes.json",
            "/2/query/group": "groups.json", "/2/query/job": "jobs.json", "/2/info": "info.json"}
ITEMS = {"/2/instances": "instance-names.json", "/2/nodes": "node-names.json",
         "/2/instances/inst5.ganeti.test": "instance-inst5.json",
         "/2/instances/inst5.ganeti.test/info": "instance-query-submit.json",
         f"/2/jobs/{INFO_JOB.rsplit('/', 1)[1]}": "job-instance-query.json",
         "/2/nodes/node2.ganeti.test": "node-node2.json", JOB: "job-failed.json"}

# -- answers --------------------------------------------------------------------------

names = st.sampled_from(["node1.ganeti.test", "node2.ganeti.test", "node3.ganeti.test", "inst1.ganeti.test",
                         "inst5.ganeti.test", "", "..", "a/b", "x" * 300, "ünï.test"])
scalars = (st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.integers(-3, 70000)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12) | names
           | st.sampled_from(["running", "ERROR_down", "ERROR_nodedown", "ADMIN_down", "drbd", "sharedfile",
                             "plain", "file", "M", "C", "R", "success", "error", "queued", "up", "down"]))
json_values = st.recursive(scalars, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=12)


@st.composite
def mutated(draw: st.DrawFn, value: Any, depth: int = 0) -> Any:
    """``value`` with a few of its parts replaced, dropped, or given a neighbour's shape."""
    if depth > 6 or draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    if isinstance(value, list | dict) and value:
        value = copy.copy(value)
        for _ in range(draw(st.integers(1, 3))):
            key = draw(st.sampled_from(range(len(value)) if isinstance(value, list) else sorted(value)))
            if draw(st.integers(0, 7)) == 0:
                del value[key]
            else:
                value[key] = draw(mutated(value[key], depth + 1))
            if not value:
                break
        return value
    return draw(json_values)


# Values each listing field might plausibly hold, edge cases included: these
# answers are mostly readable, so that rendering and capacity get exercised.
hosts = st.sampled_from([f"node{n}.ganeti.test" for n in range(1, 5)] + [f"inst{n}.ganeti.test" for n in range(1, 7)]
                        + ["n", "x.y", "a-b.c.d.e.example.org"])
sizes = st.none() | st.integers(-5, 2**20) | st.sampled_from([0, 2**53, -(2**53), 1023, 1024, 1048576])
flags = st.none() | st.booleans()
tags = st.none() | st.lists(st.text(max_size=20) | st.sampled_from(["env:prod", "env:*", "role:web", ""]), max_size=4)
FIELD_VALUES = {
    "name": hosts, "pnode": st.none() | hosts | st.text(max_size=8), "snodes": st.none() | st.lists(hosts, max_size=3),
    "status": st.none() | st.sampled_from(sorted(filters.STATUSES)) | st.text(max_size=8),
    "admin_state": st.none() | flags | st.sampled_from(["up", "down", "offline"]), "be/auto_balance": flags,
    "disk_template": st.none() | st.sampled_from(["drbd", "plain", "file", "sharedfile", "diskless", "rbd", "?"]),
    "tags": tags, "role": st.none() | st.sampled_from(list("MCRDOX") + ["", "master"]), "offline": flags,
    "drained": flags, "vm_capable": flags, "group": st.none() | st.text(max_size=8),
    "group.uuid": st.none() | st.sampled_from(["u1", "u2", ""]), "uuid": st.none() | st.sampled_from(["u1", "u2"]),
    "id": st.integers(0, 2**53) | st.from_regex(r"[0-9]{1,6}", fullmatch=True),
    "summary": st.none() | st.lists(st.text(max_size=30), max_size=3),
    **{key: st.none() | st.lists(st.integers(0, 2**35) | st.floats(0, 2**35), min_size=2, max_size=2)
       for key in ("received_ts", "start_ts", "end_ts")},
}


def plausible(recording: str) -> st.SearchStrategy[Any]:
    """A listing with the recorded fields, and rows of plausible cells (a few not filled)."""
    real = json.loads(fixture(recording))
    fields = [field["name"] for field in real["fields"]]
    status = st.sampled_from([0] * 12 + [1, 2, 4])  # 0: filled; else unknown field, no data, offline
    cell = {name: st.tuples(st.just(0) if name in ("name", "id") else status, FIELD_VALUES.get(name, sizes)).map(list)
            for name in fields}
    row = st.tuples(*(cell[name] for name in fields)).map(list)
    return st.lists(row, max_size=6).map(lambda rows: {"fields": real["fields"], "data": rows})


def answers(recording: str) -> st.SearchStrategy[bytes]:
    """Bodies for a request whose real answer was ``recording``: mostly near it, some far."""
    real = json.loads(fixture(recording))
    near = mutated(copy.deepcopy(real))
    if isinstance(real, dict) and "fields" in real:
        near = near | plausible(recording) | plausible(recording)
    far = json_values
    broken = st.binary(max_size=64) | st.integers(0, 200).map(lambda n: fixture(recording)[:n])
    return st.one_of(near.map(_json), near.map(_json), far.map(_json), broken, st.just(fixture(recording)))


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


# -- properties -------------------------------------------------------------------------

RECORDED = {path: fixture(name) for path, name in (LISTINGS | ITEMS).items()}


def one_broken(paths: dict[str, str]) -> st.SearchStrategy[dict[str, bytes]]:
    """The recorded answers, with one of ``paths`` answered by a random body."""
    return st.sampled_from(sorted(paths)).flatmap(
        lambda path: answers(paths[path]).map(lambda body: RECORDED | {path: body}))


def read(what: str, question: Callable[[Cluster], T], client: RapiClient) -> T | None:
    """``question`` put to a cluster behind ``client``; None if it said what was wrong.
    The statistics (``--hypothesis-show-statistics``) say how often each was read."""
    clock = iter(range(0, 10**9, 1000))  # each look at the clock is long after the last: no polling
    try:
        answer = question(Cluster(SETTINGS, client, clock=lambda: float(next(clock))))
    except RapiError as error:
        assert error.cluster == SETTINGS.name and str(error).startswith(f"{SETTINGS.name}: ")
        _count(f"{what}: refused")
        return None
    _count(f"{what}: read")
    return answer


def _count(outcome: str) -> None:
    if currently_in_test_context():
        event(outcome)


def rendered(lines: list[str]) -> None:
    assert isinstance(lines, list) and all(isinstance(line, str) for line in lines)


@FUZZ
@given(st.fixed_dictionaries({path: answers(LISTINGS[path]) for path in ("/2/query/instance", "/2/query/node")}))
def test_instances_and_nodes_are_read_or_refused_and_always_render(served):
    name, (client, _) = SETTINGS.name, replaying(RECORDED | served)
    instances, nodes = read("instances", Cluster.instances, client), read("nodes", Cluster.nodes, client)
    info, groups = read("info", Cluster.info, client), read("groups", Cluster.groups, client)
    assert info is not None and groups is not None  # recorded: always readable
    if instances is not None:
        rendered(view.instance_table(name, instances, len(instances), ""))
        for words in (["running"], ["node1"], ["env:*", "inst"]):
            terms = filters.parse_terms(words)
            rendered(view.instance_table(name, filters.select(instances, terms), len(instances),
                                         filters.describe(terms)))
    if nodes is not None:
        rendered(view.node_table(name, nodes))
    if nodes is not None and instances is not None:
        rendered(view.redundancy(name, capacity.redundancy(nodes, instances)))
        for node in {instance.pnode for instance in instances[:3]} | {node.name for node in nodes[:2]}:
            rendered(view.movable(name, capacity.movable(node, nodes, instances)))
        rendered(view.cluster_summary(name, info, nodes, instances))
        rendered(view.tag_matches(name, info, nodes, instances, groups, tag_matcher("*"), "*"))


@FUZZ
@given(one_broken({path: LISTINGS[path] for path in ("/2/info", "/2/query/group", "/2/query/job")}))
def test_cluster_groups_and_jobs_are_read_or_refused_and_always_render(served):
    name, (client, _) = SETTINGS.name, replaying(served)
    info, groups, jobs = (read("info", Cluster.info, client), read("groups", Cluster.groups, client),
                          read("jobs", Cluster.jobs, client))
    instances, nodes = Cluster(SETTINGS, client).instances(), Cluster(SETTINGS, client).nodes()
    if info is not None:
        rendered(view.listing(f"{name}: cluster tags: ", info.tags))
        rendered(view.cluster_summary(name, info, nodes, instances))
        if groups is not None:
            rendered(view.tag_matches(name, info, nodes, instances, groups, tag_matcher("env:*"), "env:*"))
    if jobs is not None:
        rendered(view.job_table(name, jobs, "latest jobs", NOW))


@FUZZ
@given(one_broken(ITEMS))
def test_single_objects_are_read_or_refused_and_always_render(served):
    name, (client, _) = SETTINGS.name, replaying(served)
    instance = read("instance", lambda cluster: cluster.instance("inst5.ganeti.test"), client)
    if instance is not None:
        rendered(view.instance_detail(name, instance))
    node = read("node", lambda cluster: cluster.node("node2.ganeti.test"), client)
    if node is not None:
        rendered(view.node_detail(name, node))
    job = read("job", lambda cluster: cluster.job(int(JOB.rsplit("/", 1)[1])), client)
    if job is not None:
        rendered(view.job_detail(name, job, NOW))
    read("instance names", Cluster.instance_names, client), read("node names", Cluster.node_names, client)


@settings(FUZZ, max_examples=3 * EXAMPLES)  # cheap to make
@given(st.sampled_from(sorted(LISTINGS | ITEMS)), json_values)
def test_any_json_at_all_for_any_request(path, value):
    client, _ = replaying({path: _json(value)})
    for question in (Cluster.instances, Cluster.nodes, Cluster.groups, Cluster.jobs, Cluster.info,
                     Cluster.instance_names, lambda cluster: cluster.job(int(JOB.rsplit("/", 1)[1]))):
        read("any", question, client)


def test_nesting_as_deep_as_the_decoder_allows_still_renders():
    deep = "[" * 900 + "]" * 900
    job = json.loads(fixture("job-failed.json"))
    job["opresult"], job["oplog"] = json.loads(f"[{deep}]"), [[[1, [1795474755, 0], "message", json.loads(deep)]]]
    client, _ = replaying({JOB: _json(job)})
    detail = read("job", lambda cluster: cluster.job(int(JOB.rsplit("/", 1)[1])), client)
    assert detail is not None and detail.errors[0].startswith("[[[")
    rendered(view.job_detail(SETTINGS.name, detail, NOW))
