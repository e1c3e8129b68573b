"""The semantic extra: verified weights, cached vectors, re-ranking, and its absence.

Tests that need the model skip when ``gntbot[semantic]`` is not installed; the
last ones check that without it the bot is exactly the default install.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from conftest import PROJECT, SHIPPED

from bot.knowledge import embedding
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.vectors import CACHE, VectorCache

needs_model = pytest.mark.skipif(not embedding.available(), reason="gntbot[semantic] is not installed")


@pytest.fixture(scope="module")
def embedder():
    if not embedding.available():
        pytest.skip("gntbot[semantic] is not installed")
    return embedding.shared_embedder()


@needs_model
def test_altered_or_missing_weights_are_refused_before_they_run(tmp_path):
    altered = tmp_path / "model.onnx"
    data = bytearray(embedding.weights_path().read_bytes())
    data[len(data) // 2] ^= 0xFF
    altered.write_bytes(bytes(data))
    with pytest.raises(embedding.EmbeddingModelError, match="SHA-256"):
        embedding.Embedder(altered)
    with pytest.raises(embedding.EmbeddingModelError, match="cannot read"):
        embedding.Embedder(tmp_path / "absent.onnx")


@needs_model
def test_a_bot_whose_model_is_altered_says_so_and_answers_from_words(tmp_path, monkeypatch, caplog, runbooks):
    altered = tmp_path / "model.onnx"
    altered.write_bytes(b"not the published model")
    monkeypatch.setattr(embedding, "_shared", None)
    monkeypatch.setattr(embedding, "weights_path", lambda: altered)
    knowledge = KnowledgeBase(runbooks, tmp_path / "index")
    with caplog.at_level(logging.ERROR):
        knowledge.refresh()
    assert "semantic re-ranking is off" in caplog.text and "SHA-256" in caplog.text
    assert knowledge.ranker.semantic is None
    assert knowledge.search("drbd split brain", 1)[0].section.title == "Split brain recovery"


def test_meaning_is_closer_than_wording(embedder):
    question, near, far = embedder.embed([
        "give a vm more ram", "change the memory size of an instance", "recover from a drbd split brain"])
    assert question @ near > question @ far + 0.2


def test_a_text_embeds_the_same_alone_or_in_a_padded_batch(embedder):
    texts = ["rebalance", "after a node failure, fail the instances over to their secondaries"]
    together = embedder.embed(texts, batch=2)
    alone = [embedder.embed([text], batch=1)[0] for text in texts]
    for row, single in zip(together, alone, strict=True):
        assert abs(float(row @ single) - 1.0) < 1e-4


def test_vectors_are_cached_by_content_and_only_changed_sections_are_embedded(embedder, runbooks, tmp_path):
    index = tmp_path / "index"
    knowledge = KnowledgeBase(runbooks, index, semantic=True)
    knowledge.refresh()
    sections = knowledge.index.section_count()
    assert knowledge.ranker.semantic.embedded == sections and (index / CACHE).is_file()

    page = runbooks / "howto" / "ganeti.md"
    page.write_text(page.read_text().replace("Fail the instances over", "Migrate the instances away"))
    knowledge.refresh()
    assert knowledge.ranker.semantic.embedded == 1  # the edited section only

    again = KnowledgeBase(runbooks, index, semantic=True)  # a restart reads the cache
    again.refresh()
    assert again.ranker.semantic.embedded == 0


BACKUP_NOTES = [
    "Nightly backups of every instance disk are taken with the backup tool and kept for two weeks.",
    "Restore tests run on the first Monday of each month on a spare machine.",
    "The retention policy keeps daily copies for fourteen days and weekly copies for three months.",
    "Backups are encrypted with the team key before they leave the cluster.",
    "Each copy is checked with a checksum after it is written to the storage server.",
    "Old copies are pruned by a cron job on the storage server at six in the morning.",
    "A failed backup opens a ticket in the team queue with the job log attached.",
    "The storage server has two mirrored pools and a hot spare disk.",
    "When the storage pool is more than eighty percent full the pruning runs twice a day.",
    "Large databases are dumped with their own tools before the disk copy is taken.",
]
CLOCK_STEP = ("If the time inside a guest drifts after it moved to another node, restart chrony in the guest "
              "and check that the kvm-clock source is selected.")


@pytest.fixture
def long_section(tmp_path):
    """A page whose long "Backups" section (~470 words, far over what the model
    reads at once) ends with a step about guest clocks, beside two short
    sections about time."""
    root = tmp_path / "runbooks"
    root.mkdir()
    paragraphs = [" ".join(BACKUP_NOTES[i % 10] for i in range(j, j + 3)) for j in range(0, 30, 3)]
    (root / "ops.md").write_text(
        "# Operations\n\n## Backups\n\n" + "\n\n".join([*paragraphs, CLOCK_STEP]) + "\n\n"
        "## Time zones\n\nThe nodes run in UTC. Change the zone of a node with `timedatectl set-timezone UTC`.\n\n"
        "## Node clocks\n\nThe nodes keep their clock in time with chrony against the site's time servers; "
        "the chrony configuration is managed by the configuration system.\n\n"
        "## Console\n\nOpen the serial console of an instance with gnt-instance console.\n")
    return root


def test_a_step_deep_in_a_long_section_is_found_by_meaning(embedder, long_section, tmp_path):
    knowledge = KnowledgeBase(long_section, tmp_path / "index", semantic=True)
    for question in ("guest time drifts after moving it to another node", "vm clock drifting after migration"):
        assert knowledge.search(question, 1)[0].section.title == "Backups", question


def test_editing_one_step_of_a_long_section_re_embeds_only_that_part(embedder, long_section, tmp_path):
    index = tmp_path / "index"
    knowledge = KnowledgeBase(long_section, index, semantic=True)
    knowledge.refresh()
    first = knowledge.ranker.semantic.embedded
    assert first > knowledge.index.section_count()  # the long section is embedded in parts
    page = long_section / "ops.md"
    page.write_text(page.read_text().replace("restart chrony", "restart ntpsec"))
    knowledge.refresh()
    assert knowledge.ranker.semantic.embedded == 2  # the section as a whole, and its last part


def test_a_broken_vector_cache_is_rebuilt(embedder, runbooks, tmp_path, caplog):
    index = tmp_path / "index"
    KnowledgeBase(runbooks, index, semantic=True).refresh()
    (index / CACHE).write_bytes(b"\x00garbage")
    with caplog.at_level(logging.WARNING):
        knowledge = KnowledgeBase(runbooks, index, semantic=True)
        knowledge.refresh()
    assert "vector cache" in caplog.text
    sections = knowledge.index.section_count()
    assert knowledge.ranker.semantic.embedded == sections
    assert len(VectorCache(index).vectors) == sections


@pytest.fixture(scope="module")
def shipped_pair(tmp_path_factory):
    if not embedding.available():
        pytest.skip("gntbot[semantic] is not installed")
    index = tmp_path_factory.mktemp("shipped")
    words = KnowledgeBase(SHIPPED, index, semantic=False)
    words.refresh()
    meaning = KnowledgeBase(SHIPPED, index, semantic=True)
    meaning.refresh()
    return words, meaning


def test_the_reranker_finds_what_the_words_miss(shipped_pair):
    words, meaning = shipped_pair
    question = "take a disk off a vm without losing what is on it"
    assert words.search(question, 1)[0].section.title != "Detaching a disk"
    assert meaning.search(question, 1)[0].section.title == "Detaching a disk"


def test_a_section_close_in_meaning_is_a_clear_answer_where_the_words_only_found_the_closest(shipped_pair):
    words, meaning = shipped_pair
    question = "openvswitch upgrade means rebooting the nodes but the vms should stay up, how"
    assert words.lookup(question).answerable and not words.lookup(question).clear
    assert meaning.lookup(question).clear


def test_exact_commands_and_errors_still_win_with_the_reranker(shipped_pair):
    _, meaning = shipped_pair
    assert meaning.search("hbal -L -C -v -p", 1)[0].section.title == "Rebalancing a cluster"
    error = "Can's find primary node using iallocator hail: FailMem: 2, FailN1: 2"
    assert meaning.search(error, 1)[0].section.title == "Known issues"


def test_a_pasted_session_is_read_for_its_error_not_its_command(shipped_pair):
    """The command line of the paste matches every page that shows `gnt-instance
    add`; the error it printed is what one section explains."""
    _, meaning = shipped_pair
    paste = ("root@fsn-node-02:~# gnt-instance add -t drbd -o debootstrap+bookworm --disk 0:size=20G "
             "-B memory=4G --net 0:ip=pool,network=gnt-fsn web-03.torproject.org "
             "Failure: prerequisites not met for this operation: Can's find primary node using iallocator hail")
    assert meaning.search(paste, 1)[0].section.title == "Known issues"


def test_without_the_extra_search_json_is_the_default_install(tmp_path):
    """Python with onnxruntime and numpy made unimportable runs `gntbot search
    --json` exactly like the words-only ranker, and never loads either."""
    index = tmp_path / "index"
    questions = ["how do i rebalance the cluster", "take a disk off a vm without losing what is on it",
                 "configure ceph rbd mirroring with quorum"]
    script = (
        "import sys, json, io, contextlib\n"
        "sys.modules['onnxruntime'] = None; sys.modules['numpy'] = None\n"
        "from bot import cli\n"
        "out = []\n"
        f"for q in {questions!r}:\n"
        "    buffer = io.StringIO()\n"
        "    with contextlib.redirect_stdout(buffer):\n"
        f"        try: cli.main(['search', '--runbooks', {str(SHIPPED)!r}, '--index', {str(index)!r}, '--json', q])\n"
        "        except SystemExit: pass\n"
        "    out.append(json.loads(buffer.getvalue()))\n"
        "print(json.dumps([out, sorted(m for m in ('onnxruntime', 'numpy') if sys.modules.get(m))]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, cwd=PROJECT, timeout=120)
    assert done.returncode == 0, done.stderr
    printed, loaded = json.loads(done.stdout)
    assert loaded == []
    words = KnowledgeBase(SHIPPED, tmp_path / "words", semantic=False)
    for question, hits in zip(questions, printed, strict=True):
        expected = words.search(question, 5)
        assert [(h["file"], h["heading"]) for h in hits] == [(e.section.file, e.section.heading) for e in expected]
        assert [h["score"] for h in hits] == [round(e.score, 4) for e in expected]
    assert printed[-1] == []  # and it still abstains

