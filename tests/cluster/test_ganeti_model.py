"""Reading what the lab's Ganeti 3.0 answered (recorded in fixtures/), through the real client.

The recorded bodies are replayed over TLS by the fake RAPI; a `Cluster` reads
them exactly as it reads a live cluster.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from clusterkit import pinned
from fakerapi import Answer, FakeRapi, recorded, recorded_path

from bot.ganeti.cluster import Cluster
from bot.ganeti.details import disk_location

INSTANCES = "/2/query/instance"


def test_the_instance_listing_has_what_gnt_instance_list_shows(fake_rapi, tls):
    instances = {i.name: i for i in Cluster(pinned(fake_rapi, tls)).instances()}
    assert sorted(instances) == [f"inst{n}.ganeti.test" for n in range(1, 6)]
    inst2 = instances["inst2.ganeti.test"]
    assert (inst2.pnode, inst2.snodes, inst2.disk_template) == ("node1.ganeti.test", (), "file")
    assert inst2.status == "running"
    assert (inst2.vcpus, inst2.maxmem, inst2.disk_usage, inst2.tags) == (2, 1024, 1024, ("env:prod", "role:db"))
    inst4 = instances["inst4.ganeti.test"]
    assert (inst4.status, inst4.admin_state, inst4.memory_in_use) == ("ADMIN_down", "down", 0)
    # one request, with only the fields the bot shows
    (seen,) = fake_rapi.requests_for(INSTANCES)
    assert seen.query["fields"][0].split(",")[:4] == ["name", "pnode", "snodes", "status"]


def test_nodes_have_roles_and_live_memory(fake_rapi, tls):
    nodes = {n.name: n for n in Cluster(pinned(fake_rapi, tls)).nodes()}
    assert [nodes[f"node{n}.ganeti.test"].role for n in (1, 2, 3)] == ["master", "candidate", "candidate"]
    node1 = nodes["node1.ganeti.test"]
    assert node1.answering and node1.mtotal > node1.mfree > 0 and node1.pinst_cnt == 2
    assert nodes["node2.ganeti.test"].tags == ("rack:b2",)


def test_a_node_whose_daemon_is_down_has_no_data_rather_than_zeros(tls):
    server = FakeRapi(tls.cert_file, tls.key_file, recorded("node3-down")).start()
    try:
        cluster = Cluster(pinned(server, tls))
        node3 = next(n for n in cluster.nodes() if n.name == "node3.ganeti.test")
        statuses = {i.name: (i.status, i.oper_ram) for i in cluster.instances()}
    finally:
        server.stop()
    assert not node3.answering and (node3.mfree, node3.mtotal, node3.dfree) == (None, None, None)
    assert statuses["inst5.ganeti.test"] == ("ERROR_nodedown", None)
    assert statuses["inst4.ganeti.test"] == ("ERROR_nodedown", None)  # stopped, but nobody can tell
    assert statuses["inst1.ganeti.test"][0] == "running"


def test_instance_detail_knows_where_its_disks_live_from_the_info_job(fake_rapi, tls):
    detail = Cluster(pinned(fake_rapi, tls)).instance("inst5.ganeti.test")
    assert detail.group == "default" and detail.os == "dummy+default"
    assert [(d.size, d.location) for d in detail.disks] == [
        (512, "/srv/ganeti/shared-file-storage/inst5.ganeti.test"),
        (256, "/srv/ganeti/shared-file-storage/inst5.ganeti.test"),
    ]
    assert [(n.ip, n.mode, n.link) for n in detail.nics] == [("192.0.2.105", "bridged", "br-inst")]
    assert detail.created is not None and detail.instance.vcpus == 4
    (submitted,) = fake_rapi.requests_for("/2/instances/inst5.ganeti.test/info")
    assert submitted.query == {"static": ["1"]}  # a flag is 1/0, never True


def test_instance_detail_stands_without_the_info_job(fake_rapi, tls):
    drained = Answer(503, b'{"code": 503, "message": "Job queue is drained, cannot submit"}')
    fake_rapi.answer("/2/instances/inst5.ganeti.test/info", drained)
    detail = Cluster(pinned(fake_rapi, tls, retries=2)).instance("inst5.ganeti.test")
    assert [d.location for d in detail.disks] == [None, None] and detail.group is None
    assert detail.instance.status == "running"
    # that GET queues a job: after a 503 the job may be queued, so it is not sent again
    assert len(fake_rapi.requests_for("/2/instances/inst5.ganeti.test/info")) == 1


def test_commands_arriving_together_share_one_listing_request(fake_rapi, tls):
    slow = fake_rapi.answer_for(INSTANCES)
    fake_rapi.answer(INSTANCES, Answer(slow.status, slow.body, delay=0.3))
    cluster = Cluster(pinned(fake_rapi, tls))
    with ThreadPoolExecutor(4) as pool:
        listings = list(pool.map(lambda _: cluster.instances(), range(4)))
    assert len({len(listing) for listing in listings}) == 1 and listings[0]
    assert len(fake_rapi.requests_for("/2/query/instance")) == 1


def test_jobs_carry_their_log_and_why_they_failed(fake_rapi, tls):
    cluster = Cluster(pinned(fake_rapi, tls))
    created = cluster.job(int(recorded_path("job-instance-create.json").rsplit("/", 1)[1]))
    assert created.job.status == "success" and created.job.summary == ("INSTANCE_CREATE(inst5.ganeti.test)",)
    assert created.log[-1].message == "* starting instance..." and created.errors == ()
    assert created.job.duration(created.job.ended) > 0
    failed_id = int(recorded_path("job-failed.json").rsplit("/", 1)[1])
    failed = cluster.job(failed_id)
    assert failed.job.status == "error"
    assert failed.errors == ("OpPrereqError: Instance 'nope.ganeti.test' not known [unknown_entity]",)
    listed = cluster.jobs()
    assert [job.id for job in listed] == sorted(job.id for job in listed)
    assert listed[0].summary == ("CLUSTER_POST_INIT",)


def test_listings_are_cached_for_cache_seconds_but_jobs_never(fake_rapi, tls):
    cluster = Cluster(pinned(fake_rapi, tls, cache_seconds=60))
    cluster.instances(), cluster.instances(), cluster.nodes(), cluster.nodes()
    failed_job = int(recorded_path("job-failed.json").rsplit("/", 1)[1])
    cluster.job(failed_job), cluster.job(failed_job)
    assert len(fake_rapi.requests_for(INSTANCES)) == 1
    assert len(fake_rapi.requests_for("/2/query/node")) == 1
    assert len(fake_rapi.requests_for(f"/2/jobs/{failed_job}")) == 2
    uncached = Cluster(pinned(fake_rapi, tls, cache_seconds=0))
    uncached.instances(), uncached.instances()
    assert len(fake_rapi.requests_for(INSTANCES)) == 3


def test_disk_locations_for_lvm_backed_templates():
    # shapes of OpInstanceQueryData disks (see ganeti-rapi reference §5.6)
    plain = {"dev_type": "plain", "logical_id": ["vg_ganeti_hdd", "uuid.disk0"]}
    drbd = {"dev_type": "drbd", "logical_id": ["n1", "n2", 11000, 0, 0, None],
            "children": [{"dev_type": "plain", "logical_id": ["vg_ganeti", "uuid.disk0_data"]},
                         {"dev_type": "plain", "logical_id": ["vg_ganeti", "uuid.disk0_meta"]}]}
    assert disk_location(plain) == "vg_ganeti_hdd"
    assert disk_location(drbd) == "vg_ganeti"
    blockdev = {"dev_type": "blockdev", "logical_id": ["manual", "/dev/mapper/san-01"]}
    assert disk_location(blockdev) == "/dev/mapper/san-01"
