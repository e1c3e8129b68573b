"""Search as operators use it: typos, pasted errors, chat words, near misses."""

from __future__ import annotations

import pytest
from conftest import SHIPPED

from bot.commands.runbook import format_answer
from bot.knowledge import pasted
from bot.knowledge.answer import Hit, build_answer, command_lines, link
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.pasted import error_texts
from bot.knowledge.sections import Section


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> KnowledgeBase:
    knowledge = KnowledgeBase(SHIPPED, tmp_path_factory.mktemp("index"))
    knowledge.refresh()
    return knowledge


@pytest.fixture(scope="module")
def words_only(tmp_path_factory) -> KnowledgeBase:
    """The default install's ranking, also where the semantic extra is installed."""
    knowledge = KnowledgeBase(SHIPPED, tmp_path_factory.mktemp("words"), semantic=False)
    knowledge.refresh()
    return knowledge


def top(knowledge: KnowledgeBase, question: str) -> str | None:
    hits = knowledge.search(question, 3)
    return hits[0].section.heading if hits else None


def test_the_readme_question_gets_the_hbal_procedure(shipped):
    answer, _ = shipped.answer("how do I rebalance the cluster")
    assert answer is not None
    assert answer.section.heading == "Rebalancing a cluster"
    assert "hbal -L -C -v -p" in answer.commands


def test_typos_are_forgiven(shipped):
    assert top(shipped, "how do i rebalnce the clustr") == "Rebalancing a cluster"
    assert top(shipped, "drbd splt brian recovery") == "Split brain recovery"


def test_a_pasted_allocator_error_finds_the_section_that_quotes_it(shipped):
    error = ("Can's find primary node using iallocator hail: Request failed: No valid allocation "
             "solutions, failure reasons: FailMem: 2, FailN1: 2")
    assert top(shipped, error) == "Known issues"


def test_chat_words_reach_runbook_words(shipped):
    # "vm" is what people type, "instance" is what the runbook says
    hits = shipped.search("how do i get a serial console on a vm", 3)
    assert hits and hits[0].section.heading == "Accessing serial console"


@pytest.mark.parametrize(("typed", "spelled"), [
    ("the new node isnt reachable and the vms couldnt start",
     "the new node is not reachable and the vms could not start"),
    ("hbal vs hspace, which one tells me if theyre still fitting",
     "hbal or hspace, which one tells me if they are still fitting"),
])
def test_contractions_typed_without_apostrophe_are_function_words(words_only, typed, spelled):
    # "isnt" is not a technical word the runbooks lack: it must not count
    # towards refusing the question, nor be spell-corrected into a topic.
    as_typed, as_spelled = words_only.lookup(typed), words_only.lookup(spelled)
    assert as_typed.answerable and as_spelled.answerable
    assert [h.section.key for h in as_typed.hits] == [h.section.key for h in as_spelled.hits]


def test_near_misses_are_refused_with_the_closest_sections(shipped):
    answer, closest = shipped.answer("how do i enable nested virtualization with vfio passthrough")
    assert answer is None and len(closest) == 3
    assert shipped.search("zfs zvol thin provisioning on ceph", 5) == []


UNQUOTED_PASTE = ("root@fsn-node-01:~# gnt-instance startup test-01  Failure: command execution error: "
                  "Could not start instance: Hypervisor error: Failed to start instance test-01: "
                  "qemu-system-x86_64: -drive file=/dev/drbd4: Could not open '/dev/drbd4': Permission denied")


def test_a_pasted_error_no_runbook_quotes_is_refused_with_the_closest_sections(shipped):
    # Every word of it is in the runbooks ("instance", "start", "drbd", "open"...),
    # but no page quotes the message: an answer would be a guess.
    answer, closest = shipped.answer(UNQUOTED_PASTE)
    assert answer is None
    assert closest


def test_the_same_failure_told_in_an_operators_words_is_answered(shipped):
    # Words about an error ("fails", "could not open" mid-sentence) are not a
    # pasted error text, and are judged like any question.
    answer, _ = shipped.answer("gnt-instance startup test-01 fails, qemu says it could not open its drbd device")
    assert answer is not None


@pytest.mark.parametrize("remark", [
    "the migration failed yesterday, how do i retry migrating the instance",
    "Unable to log into the console of a vm, how do i reach the serial console",
    "Cannot migrate instance web1 to node2, what do I check first?",
    "my migration FAILED again and i do not know what to do about it",
    "hey, the instance migrate failed: what is the procedure to migrate an instance",
    "the error: my instance won't start after migration, where do i look",
])
def test_an_operators_remark_about_a_failure_is_not_taken_for_a_pasted_error(shipped, remark):
    assert error_texts(remark) == []
    answer, _ = shipped.answer(remark)
    assert answer is not None


def test_a_quoted_error_is_read_up_to_the_operators_own_remark(shipped):
    # The runbook quotes the line; the question that follows it must not
    # dilute the quote into "no page quotes this".
    pasted_line = "ERROR: node chi-node-08.example.org: unallocated drbd minor 0 is in use"
    assert error_texts(f"{pasted_line} -- we just rebooted the node, is it safe to ignore for now") == \
        error_texts(pasted_line)


def test_a_chained_error_message_is_one_text_without_numbers_or_names():
    texts = error_texts("gnt-node add node4 -> Failure: command execution error: Node daemon on node4 "
                        "didn't answer queries within 10 seconds")
    assert len(texts) == 1
    assert texts[0][:4] == ("failure", "command", "execution", "error")
    assert "node4" not in texts[0] and "10" not in texts[0]


def test_a_hostile_line_of_markers_gives_few_error_texts():
    assert error_texts("ERROR:1 " * 10_000) == []
    assert len(error_texts("ERROR: disk sync failed on the node because the peer vanished -- " * 2000)) \
        == pasted.ERROR_TEXTS


def test_an_empty_or_stop_word_question_is_not_answered(shipped):
    assert shipped.search("how do i", 5) == []
    assert shipped.search("", 5) == []


def section(code: tuple[str, ...], text: str = "") -> Section:
    return Section("howto/ganeti.md", "Node", "Node", 2, ("Ganeti",), "node", text, code, 1)


def test_commands_exclude_the_output_of_pasted_terminal_sessions():
    pasted = "root@fsn-node-01:~# gnt-instance list\nInstance Status\nweb-01 running\n$ hbal -L"
    plain = "gnt-node list\n\ngnt-cluster verify"
    assert command_lines(section((pasted, plain))) == (
        "gnt-instance list", "hbal -L", "gnt-node list", "gnt-cluster verify")


def test_links_use_the_wiki_base_url_or_the_file_path():
    node = section(())
    assert link(node, "https://gitlab.example.org/tpa/-/wikis/") == \
        "https://gitlab.example.org/tpa/-/wikis/howto/ganeti#node"
    assert link(node, "") == "howto/ganeti.md#node"
    assert build_answer(Hit(node, 1.0), "").link == "howto/ganeti.md#node"


@pytest.fixture(scope="module")
def small(tmp_path_factory, three_topics) -> KnowledgeBase:
    knowledge = KnowledgeBase(three_topics, tmp_path_factory.mktemp("small-index"), semantic=False)
    knowledge.refresh()
    return knowledge


def test_a_section_holding_only_part_of_the_question_is_offered_as_the_closest(small):
    """Two of its five words at most: worth showing, but not as the procedure asked for."""
    answer, _ = small.answer("logrotate schedule for snapshots, quotas and reboots?")
    assert answer is not None and not answer.clear
    assert format_answer(answer)[0].startswith("Not sure the runbooks cover this; the closest section: Ops › ")


def test_a_section_holding_the_question_is_the_answer(small):
    answer, _ = small.answer("what is our logrotate schedule?")
    assert answer is not None and answer.clear
    assert format_answer(answer)[0].startswith("Ops › Rotating logs")
