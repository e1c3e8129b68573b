"""What the channel sees: every cluster command through the real Application and Dispatcher.

The cluster behind them replays the lab's recorded answers over TLS
(fakerapi), so the words and numbers are those of a real Ganeti 3.0.
"""

from __future__ import annotations

import json

import pytest
from clusterkit import Chat, pinned
from fakerapi import Answer, FakeRapi, fixture, recorded, recorded_path

INSTANCES, NODES = "/2/query/instance", "/2/query/node"
# job IDs and MAC addresses differ from one recording to the next
CREATE_JOB = recorded_path("job-instance-create.json").rsplit("/", 1)[1]
FAILED_JOB = recorded_path("job-failed.json").rsplit("/", 1)[1]
INST5_MAC = json.loads(fixture("instance-inst5.json"))["nic.macs"][0]


@pytest.fixture
def chat(fake_rapi, tls) -> Chat:
    return Chat(pinned(fake_rapi, tls))


@pytest.fixture
def node3_down(tls):
    server = FakeRapi(tls.cert_file, tls.key_file, recorded("node3-down")).start()
    yield Chat(pinned(server, tls))
    server.stop()


def test_instances_reads_like_the_runbooks_gnt_instance_list_pipeline(chat, fake_rapi):
    lines = chat.say("!instances")
    assert lines == [
        "gnt-fsn: 5 instances (4 running, 1 ADMIN_down); names without .ganeti.test",
        "node1 inst1 1cpu mem 512M disk 0M diskless running [env:prod role:web]",
        "node1 inst2 2cpu mem 1.0G disk 1.0G file running [env:prod role:db]",
        "node2 inst3 1cpu mem 256M disk 512M sharedfile running [env:staging role:web]",
        "node3 inst4 1cpu mem 128M disk 0M diskless ADMIN_down [env:dev]",
        "node3 inst5 4cpu mem 768M disk 768M sharedfile running [env:prod role:cache]",
    ]
    assert [seen.path for seen in fake_rapi.seen] == [INSTANCES]  # one request for the whole listing


@pytest.mark.parametrize(("words", "expected"), [
    ("node3", ["inst4", "inst5"]),
    ("node3.ganeti.test", ["inst4", "inst5"]),
    ("running env:prod", ["inst1", "inst2", "inst5"]),
    ("tag=role:web", ["inst1", "inst3"]),
    ("env:*", ["inst1", "inst2", "inst3", "inst4", "inst5"]),
    ("down", ["inst4"]),
    ("inst3", ["inst3"]),
    ("status=admin_down node=node3", ["inst4"]),
])
def test_instances_can_be_filtered_by_node_status_tag_or_name(chat, words, expected):
    header, *rows = chat.say(f"!instances {words}")
    assert header.startswith(f"gnt-fsn: {len(expected)} of 5 instances match {words} (")
    assert [row.split()[1] for row in rows] == expected


def test_a_filter_that_matches_nothing_says_so(chat):
    assert chat.say("!instances error") == ["gnt-fsn: 0 of 5 instances match error."]


def test_a_node_whose_daemon_is_down_is_said_plainly_before_the_table(node3_down):
    lines = node3_down.say("!instances")
    assert lines[1] == ("WARNING: inst4 and inst5 are ERROR_nodedown: their primary node node3 is not answering "
                        "(node daemon down, or the node itself), so nobody can tell whether they run.")
    assert lines[-1].startswith("node3 inst5 4cpu mem 768M disk 768M sharedfile ERROR_nodedown")
    nodes = node3_down.say("!nodes")
    assert nodes[1].startswith("WARNING: node3 is not answering (node daemon down, or the node itself)")
    assert nodes[-1] == "node3 candidate: NOT ANSWERING, no data; 2 primary, 0 secondary"
    detail = node3_down.say("!instance inst5")
    assert detail[1] == ("WARNING: ERROR_nodedown: its primary node node3.ganeti.test is not answering "
                         "(node daemon down, or the node itself), so nobody can tell whether it runs.")


def test_instance_shows_the_gnt_instance_info_essentials(chat):
    assert chat.say("!instance inst5") == [
        ("inst5.ganeti.test @gnt-fsn: running, admin state up; primary node3.ganeti.test (group default), "
        "no secondary; OS dummy+default"),
        "4 vcpus, memory 768M (min 768M), template sharedfile, disk usage 768M",
        ("disks: disk/0 512M in /srv/ganeti/shared-file-storage/inst5.ganeti.test, "
        "disk/1 256M in /srv/ganeti/shared-file-storage/inst5.ganeti.test"),
        f"nics: nic/0 192.0.2.105 {INST5_MAC} bridged br-inst",
        "tags: env:prod, role:cache",
        chat.say("!instance inst5.ganeti.test")[-1],
    ]
    assert chat.say("!instance inst5")[-1].startswith("created 20")


def test_node_shows_role_memory_disk_and_instances(chat):
    lines = chat.say("!node node2")
    assert lines[0] == "node2.ganeti.test @gnt-fsn: candidate, group default; address 192.0.2.12"
    assert lines[1].startswith("memory 23.5G total, ") and " free; disk " in lines[1] and lines[1].endswith("2 CPUs")
    assert lines[2:] == ["primary instances (1): inst3", "secondary instances (0): none", "tags: rack:b2"]


def test_nodes_and_cluster_summaries(chat):
    nodes = chat.say("!nodes")
    assert nodes[0] == "gnt-fsn: 3 nodes, master node1; names without .ganeti.test"
    assert nodes[1].startswith("node1 master: mem ") and nodes[1].endswith("; 2 primary, 0 secondary")
    assert chat.say("!cluster") == [
        ("gnt-fsn: cluster.ganeti.test, master node1.ganeti.test, Ganeti 3.0.2; hypervisors fake; "
        "disk templates diskless, file, sharedfile; allocator hail"),
        "3 nodes, 5 instances (4 running, 1 ADMIN_down)",
    ]


def test_jobs_list_recent_failed_and_running_jobs(chat):
    latest = chat.say("!jobs")
    assert latest[0] == "gnt-fsn: 10 latest jobs" and len(latest) == 11
    assert latest[1].startswith(f"#{FAILED_JOB} error INSTANCE_QUERY_DATA; 0.")  # the newest first
    assert chat.say("!jobs 2")[0] == "gnt-fsn: 2 latest jobs"
    failed = chat.say("!jobs failed")
    assert failed[0] == "gnt-fsn: 1 failed jobs" and failed[1] == latest[1]
    assert chat.say("!jobs running") == ["gnt-fsn: no running or queued jobs."]
    assert chat.say("!jobs 500") == ["usage: !jobs [running|failed|N] [@cluster], N from 1 to 50"]


def test_job_shows_why_it_failed_and_its_last_log_lines(chat, fake_rapi):
    failed = chat.say(f"!job {FAILED_JOB}")
    assert failed[0].startswith(f"job {FAILED_JOB} @gnt-fsn: error, INSTANCE_QUERY_DATA; received ")
    assert failed[1:] == [
        "failed: OpPrereqError: Instance 'nope.ganeti.test' not known [unknown_entity]", "no log lines."]
    created = chat.say(f"!job #{CREATE_JOB}")
    assert created[0].startswith(f"job {CREATE_JOB} @gnt-fsn: success, INSTANCE_CREATE(inst5.ganeti.test); ")
    assert created[1] == "log (last 5 of 11):"
    assert created[-1].endswith(" * starting instance...") and len(created) == 7
    chat.say(f"!job {CREATE_JOB}")
    assert len(fake_rapi.requests_for(f"/2/jobs/{CREATE_JOB}")) == 2  # a job's status is never cached


def test_tags_and_search_tags_cover_every_tagged_object(chat):
    assert chat.say("!tags") == ["gnt-fsn: cluster tags: htools:iextags:service, lab:gntbot"]
    assert chat.say("!search-tags htools:iextags:*") == [
        "gnt-fsn: 1 tags match 'htools:iextags:*'; names without .ganeti.test", "cluster htools:iextags:service"]
    assert chat.say("!search-tags rack")[1:] == ["node node2 rack:b2"]
    assert chat.say("!search-tags web")[1:] == ["instance inst1 role:web", "instance inst3 role:web"]
    assert chat.say("!search-tags nothing-like-this") == ["gnt-fsn: no tag matches 'nothing-like-this'."]


def test_capacity_and_movable_answer_the_runbook_questions(chat, fake_rapi):
    assert chat.say("!capacity") == [
        "gnt-fsn: no instance has a secondary node (no DRBD), so there is no N+1 failover memory to check."]
    assert sorted(seen.path for seen in fake_rapi.seen) == sorted([NODES, INSTANCES])
    movable = chat.say("!movable node1")
    assert movable[0] == "gnt-fsn: 1 of 2 instances could leave node1, freeing 512M; names without .ganeti.test"
    assert movable[1].startswith("inst1 512M -> node") and movable[1].endswith(" (no disks)")
    assert movable[2] == "stays: inst2 1.0G: file disks live on this node only"


def test_capacity_reports_a_shortfall_in_the_words_of_gnt_cluster_verify(fake_rapi, tls):
    body = json.loads(fake_rapi.answer_for(INSTANCES).body)
    names = [field["name"] for field in body["fields"]]
    for row in body["data"][:2]:  # inst1 and inst2, on node1: DRBD with node2 as secondary
        row[names.index("disk_template")] = [0, "drbd"]
        row[names.index("snodes")] = [0, ["node2.ganeti.test"]]
    fake_rapi.answer(INSTANCES, Answer(200, json.dumps(body).encode()))
    nodes = json.loads(fake_rapi.answer_for(NODES).body)
    nodes["data"][1][[f["name"] for f in nodes["fields"]].index("mfree")] = [0, 1024]
    fake_rapi.answer(NODES, Answer(200, json.dumps(nodes).encode()))
    lines = Chat(pinned(fake_rapi, tls)).say("!capacity")
    assert lines[:2] == [
        "gnt-fsn: N+1 FAILS on 1 node(s); names without .ganeti.test.",
        ("node2: not enough memory to accommodate instance failovers should node1 fail "
        "(1536 MiB needed, 1024 MiB available; inst1, inst2)"),
    ]
    assert lines[2].startswith("ok: node1 needs 0 of ") and ", node3 needs 0 of " in lines[2]


def test_long_answers_are_paged_with_more(fake_rapi, tls):
    chat = Chat(pinned(fake_rapi, tls), page_lines=3)
    first = chat.say("!instances")
    assert first[-1] == "(3 more lines: !more)" and len(first) == 4
    assert chat.say("!more")[-1].startswith("node3 inst5 ")


def test_chat_input_is_checked_before_it_can_reach_a_url(chat, fake_rapi):
    assert chat.say("!instance inst5/../../2/info") == [
        "'inst5/../../2/info' is not a valid instance name (letters, digits, '.', '-', '_')"]
    assert chat.say("!node ..") == ["'..' is not a valid node name (letters, digits, '.', '-', '_')"]
    assert chat.say("!job 12?bulk=1") == ["'12?bulk=1' is not a job ID (a number, as in gnt-job list)"]
    assert chat.say("!instances @gnt-fsn @gnt-chi") == ["name one cluster at most (@name)"]
    assert chat.say("!instance") == ["usage: !instance NAME [@cluster]"]
    assert fake_rapi.seen == []


def test_every_line_fits_an_irc_message(chat):
    for command in ("!instances", "!instance inst5", "!nodes", "!node node1", "!cluster", "!jobs 50",
                    f"!job {CREATE_JOB}", "!tags", "!search-tags *", "!capacity", "!movable node3", "!help"):
        assert all(len(line) <= 400 for line in chat.say(command)), command


def test_help_lists_the_cluster_commands(chat):
    listed = chat.say("!help")[0]
    for name in ("!instances", "!instance", "!nodes", "!node", "!cluster", "!jobs", "!job", "!tags",
                 "!search-tags", "!capacity", "!movable"):
        assert f"{name}," in listed or f"{name}." in listed
    assert chat.say("!help movable")[0] == ("!movable NODE [@cluster]: list the instances that could leave NODE, "
                                            "and where to (in the team's rooms, or readers)")


# -- several clusters -------------------------------------------------------------------


@pytest.fixture
def two_clusters(fake_rapi, tls):
    """gnt-fsn is the recorded lab; gnt-chi replays it too, but knows one other instance name."""
    chi = FakeRapi(tls.cert_file, tls.key_file, recorded()).start()
    chi.answer("/2/instances", Answer(200, b'[{"id": "inst1.chi.example.org", "uri": "/2/instances/inst1"}]'))
    yield Chat(pinned(fake_rapi, tls), pinned(chi, tls, name="gnt-chi")), fake_rapi, chi
    chi.stop()


def test_a_name_finds_its_cluster_by_itself(two_clusters):
    chat, _, chi = two_clusters
    assert chat.say("!instance inst5")[0].startswith("inst5.ganeti.test @gnt-fsn: running")
    assert chi.requests_for("/2/instances/inst5.ganeti.test") == []


def test_an_ambiguous_short_name_lists_the_candidates(two_clusters):
    chat, fsn, chi = two_clusters
    assert chat.say("!instance inst1") == [
        ("inst1 is ambiguous: inst1.ganeti.test @gnt-fsn, inst1.chi.example.org @gnt-chi; "
        "give the full name or add @cluster")]
    assert chat.say("!instance inst9") == ["no instance inst9 on @gnt-fsn, @gnt-chi"]
    chat.say("!instance inst1 @gnt-chi")
    chat.say("!instance inst1.ganeti.test")
    assert len(chi.requests_for("/2/instances/inst1.chi.example.org")) == 1
    assert len(fsn.requests_for("/2/instances/inst1.ganeti.test")) == 1
    assert chi.requests_for("/2/instances/inst1.ganeti.test") == []


def test_listings_cover_every_cluster_unless_one_is_named(two_clusters):
    chat, _, _ = two_clusters
    everywhere = chat.say("!instances")
    assert [line for line in everywhere if not line.startswith("node")] == [
        "gnt-fsn: 5 instances (4 running, 1 ADMIN_down); names without .ganeti.test",
        "gnt-chi: 5 instances (4 running, 1 ADMIN_down); names without .ganeti.test",
    ]
    assert chat.say("!instances @gnt-chi")[0].startswith("gnt-chi: ")
    assert chat.say("!instances @gnt-xyz") == ["no cluster @gnt-xyz; known: @gnt-fsn, @gnt-chi"]
    assert chat.say(f"!job {FAILED_JOB}") == [
        f"job {FAILED_JOB} exists on @gnt-fsn and @gnt-chi: add the cluster, e.g. job {FAILED_JOB} @gnt-fsn"]
    assert chat.say(f"!job {FAILED_JOB} @gnt-chi")[0].startswith(f"job {FAILED_JOB} @gnt-chi: error")


@pytest.mark.parametrize("number", ["²", "٣", "１０", "1²", "𝟗"])
def test_a_number_must_be_written_with_ascii_digits(chat, fake_rapi, number):
    # each is a digit to str.isdigit(), and int() takes some of them: neither may decide
    assert chat.say(f"!jobs {number}") == ["usage: !jobs [running|failed|N] [@cluster], N from 1 to 50"]
    assert chat.say(f"!job {number}") == [f"{number!r} is not a job ID (a number, as in gnt-job list)"]
    assert fake_rapi.seen == []
