"""The cluster commands against a real Ganeti 3.0 cluster (lab/, three nodes in network namespaces).

The lab comes up once per session (about 40 s) and goes down at the end.
Its layout (lab/up.sh): inst1 diskless and inst2 file on node1, inst3
sharedfile on node2, inst4 diskless (stopped) and inst5 sharedfile on node3.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from clusterkit import Chat
from fakerapi import DOWN_SUFFIX, FIXTURES

from bot.ganeti.rapi import RapiClient
from bot.ganeti.settings import Credentials

pytestmark = pytest.mark.lab
PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def chat(lab_settings) -> Chat:
    return Chat(lab_settings)


def test_cluster_summary(chat):
    assert chat.say("!cluster") == [
        ("lab: cluster.ganeti.test, master node1.ganeti.test, Ganeti 3.0.2; hypervisors fake; "
        "disk templates diskless, file, sharedfile; allocator hail"),
        "3 nodes, 5 instances (4 running, 1 ADMIN_down)",
    ]


def test_instances_table(chat):
    assert chat.say("!instances") == [
        "lab: 5 instances (4 running, 1 ADMIN_down); names without .ganeti.test",
        "node1 inst1 1cpu mem 512M disk 0M diskless running [env:prod role:web]",
        "node1 inst2 2cpu mem 1.0G disk 1.0G file running [env:prod role:db]",
        "node2 inst3 1cpu mem 256M disk 512M sharedfile running [env:staging role:web]",
        "node3 inst4 1cpu mem 128M disk 0M diskless ADMIN_down [env:dev]",
        "node3 inst5 4cpu mem 768M disk 768M sharedfile running [env:prod role:cache]",
    ]
    assert [line.split()[1] for line in chat.say("!instances env:prod node1")[1:]] == ["inst1", "inst2"]


def test_instance_detail_runs_the_info_job_as_the_read_user(chat):
    lines = chat.say("!instance inst2")
    assert lines[0] == ("inst2.ganeti.test @lab: running, admin state up; primary node1.ganeti.test (group default), "
                        "no secondary; OS dummy+default")
    assert lines[2] == "disks: disk/0 1.0G in /srv/ganeti/file-storage/inst2.ganeti.test"
    assert lines[3].startswith("nics: nic/0 192.0.2.102 aa:00:00:") and lines[3].endswith(" bridged br-inst")


def test_nodes_and_one_node(chat):
    nodes = chat.say("!nodes")
    assert nodes[0] == "lab: 3 nodes, master node1; names without .ganeti.test"
    assert [line.split(":")[0] for line in nodes[1:]] == ["node1 master", "node2 candidate", "node3 candidate"]
    assert chat.say("!node node3")[2:] == ["primary instances (2): inst4, inst5", "secondary instances (0): none",
                                            "tags: none"]


def test_jobs_and_one_job(chat):
    latest = chat.say("!jobs 50")
    creates = [line for line in latest if "INSTANCE_CREATE(inst5.ganeti.test)" in line]
    assert len(creates) == 1 and creates[0].split()[1] == "success"
    job_id = creates[0].split()[0].lstrip("#")
    detail = chat.say(f"!job {job_id}")
    assert detail[0].startswith(f"job {job_id} @lab: success, INSTANCE_CREATE(inst5.ganeti.test); received ")
    assert detail[-1].endswith("* starting instance...")


def test_tags(chat):
    assert chat.say("!tags") == ["lab: cluster tags: htools:iextags:service, lab:gntbot"]
    assert chat.say("!search-tags htools:iextags:*")[1:] == ["cluster htools:iextags:service"]
    assert chat.say("!search-tags role:web")[1:] == ["instance inst1 role:web", "instance inst3 role:web"]


def test_capacity_and_movable(chat):
    assert chat.say("!capacity") == [
        "lab: no instance has a secondary node (no DRBD), so there is no N+1 failover memory to check."]
    movable = chat.say("!movable node1")
    assert movable[0] == "lab: 1 of 2 instances could leave node1, freeing 512M; names without .ganeti.test"
    assert movable[1].startswith("inst1 512M -> node")
    assert movable[2] == "stays: inst2 1.0G: file disks live on this node only"


def test_a_self_signed_ganeti_certificate_cannot_be_trusted_through_ca_file(lab, lab_settings, tmp_path):
    certificate = tmp_path / "rapi-cert.pem"
    certificate.write_text(lab.certificate_pem())
    settings = replace(lab_settings, fingerprint=None, ca_file=certificate)
    assert Chat(settings).say("!cluster") == [
        ("lab: TLS verification of its RAPI failed (the certificate is not valid for the host in url), so nothing "
        "was sent. Ganeti's self-signed rapi.pem names no host: pin its fingerprint instead of ca_file.")]


def test_credentials_are_checked_by_the_real_rapi(lab_settings):
    wrong = Chat(replace(lab_settings, read=Credentials("reader", "wrong")))
    assert wrong.say("!nodes") == [
        ("lab: RAPI refused the bot's credentials (401): check read_user and its password in [clusters.lab] "
        "against the RAPI users file on the master")]
    guest = Chat(replace(lab_settings, read=Credentials("guest", "guest-secret")))
    assert guest.say("!nodes") == [
        ("lab: the bot's RAPI user lacks the right for this (403): "
        "give it the 'read' option in the RAPI users file on the master")]


def test_the_console_works_from_a_configuration_file(lab, tmp_path):
    (tmp_path / "reader.secret").write_text("reader-secret\n")
    config = tmp_path / "gntbot.toml"
    config.write_text(f"""
[knowledge]
index = "{tmp_path / 'index'}"
reload_seconds = 0

[bot]
page_lines = 20

[clusters.lab]
url = "{lab.url}"
read_user = "reader"
read_password_file = "reader.secret"
fingerprint = "{lab.fingerprint()}"
""")
    result = subprocess.run([sys.executable, "-m", "bot", "-c", str(config), "console"], cwd=PROJECT,
                            input="!instances inst3\n!node node2\n", check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:3] == [
        "lab: 1 of 5 instances match inst3 (1 running); names without .ganeti.test",
        "node2 inst3 1cpu mem 256M disk 512M sharedfile running [env:staging role:web]",
        "node2.ganeti.test @lab: candidate, group default; address 192.0.2.12",
    ]


def test_the_recorded_fixtures_still_have_the_shape_of_live_answers(lab_settings):
    """Unit tests read fixtures/; this fails when the lab (or Ganeti) answers differently."""
    client = RapiClient(lab_settings)
    rows = [line.split("\t") for line in (FIXTURES / "index.tsv").read_text().splitlines()[1:]]
    checked = 0
    for name, _user, path, status in rows:
        if status != "200" or name.endswith(DOWN_SUFFIX) or "/jobs/" in path or "/info?" in path:
            continue  # faults, node3 down and job IDs are specific to the recording
        recorded, live = json.loads((FIXTURES / name).read_text()), client.get(path)
        assert _shape(live) == _shape(recorded), name
        checked += 1
    assert checked >= 9


def _shape(value):
    if isinstance(value, dict) and "fields" in value:
        return sorted(field["name"] for field in value["fields"])
    if isinstance(value, dict):
        return sorted(value)
    if isinstance(value, list):
        return ["list", _shape(value[0]) if value else None]
    return type(value).__name__


@pytest.fixture
def node3_without_noded(lab):
    lab.stop_noded("node3")
    try:
        yield
    finally:
        lab.start_noded("node3")


def test_a_stopped_node_daemon_is_reported_plainly(chat, node3_without_noded):
    lines = chat.say("!instances")
    assert lines[1] == ("WARNING: inst4 and inst5 are ERROR_nodedown: their primary node node3 is not answering "
                        "(node daemon down, or the node itself), so nobody can tell whether they run.")
    assert lines[-1] == "node3 inst5 4cpu mem 768M disk 768M sharedfile ERROR_nodedown [env:prod role:cache]"
    nodes = chat.say("!nodes")
    assert nodes[1] == ("WARNING: node3 is not answering (node daemon down, or the node itself): no memory or disk "
                        "data, and its instances show ERROR_nodedown.")
    assert nodes[-1] == "node3 candidate: NOT ANSWERING, no data; 2 primary, 0 secondary"
    assert chat.say("!instance inst5")[1].startswith("WARNING: ERROR_nodedown: its primary node node3.ganeti.test")
    assert chat.say("!node node3")[1].startswith("WARNING: not answering (node daemon down, or the node itself)")
    assert chat.say("!capacity")[0].endswith("node3 did not answer, so it is not checked (and any instance it "
                                             "holds as secondary has no failover target).")


def test_the_node_daemon_back_means_instances_back(chat, lab):
    deadline = time.monotonic() + 30
    while "WARNING" in chat.text("!instances"):
        assert time.monotonic() < deadline, "node3's instances did not come back after noded restarted"
        time.sleep(1)
    assert chat.say("!instances node3")[1:] == [
        "node3 inst4 1cpu mem 128M disk 0M diskless ADMIN_down [env:dev]",
        "node3 inst5 4cpu mem 768M disk 768M sharedfile running [env:prod role:cache]",
    ]


def test_the_live_info_job_says_how_each_disk_is_the_static_one_only_where_it_is(lab_settings):
    """What a migrate-back reads to know whether DRBD disks are in sync: the live view only."""
    from bot.ganeti.cluster import Cluster

    cluster = Cluster(lab_settings)
    live, static = cluster.query_data("inst5.ganeti.test", live=True), cluster.query_data("inst5.ganeti.test")
    assert live is not None and static is not None
    assert [disk["pstatus"][5] for disk in live["disks"]] == [False, False]  # is_degraded, per disk
    assert [disk["pstatus"] for disk in static["disks"]] == [None, None]
