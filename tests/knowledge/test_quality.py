"""Answer quality must not regress below what was reached.

Two question sets: the first one (`tests/questions/{runbooks,corpus}.jsonl`),
now a regression floor, and the development split of the blind set
(`tests/questions/v2/dev.jsonl`). The floors sit a little under the
measured figures (see bench/quality.py and the README) of the install under
test: with the semantic extra, its own, higher floors. They protect the
ranking from silent damage; they are not goals. The v2 test split is never
run here: it is run by hand, rarely, to report.
"""

from __future__ import annotations

import sys

import pytest
from conftest import CORPUS, PROJECT

from bot.knowledge import embedding

sys.path.insert(0, str(PROJECT / "bench"))
import quality

SEMANTIC = embedding.available()
FIRST_SET = {
    "runbooks": {"hit@1": 0.85, "hit@3": 0.92, "mrr": 0.90, "abstain_unanswerable": 0.40},
    "corpus": {"hit@1": 0.75, "hit@3": 0.85, "mrr": 0.82, "abstain_unanswerable": 0.20},
}
DEV = (
    # with the extra, a near miss close in meaning is answered (4 of 14 refused, 0 answerable)
    {"hit@1": 0.84, "hit@3": 0.92, "mrr": 0.88, "abstain_unanswerable": 0.25} if SEMANTIC
    else {"hit@1": 0.72, "hit@3": 0.84, "mrr": 0.79, "abstain_unanswerable": 0.30}
)
MAX_REFUSED = 0.05  # of the answerable questions, over both collections


@pytest.fixture(scope="module")
def indexes(tmp_path_factory):
    """One index per collection for both question sets (and, with the semantic
    extra, one embedding of each collection)."""
    return tmp_path_factory.mktemp("quality")


@pytest.fixture(scope="module")
def first_set(indexes):
    return quality.run(index_root=indexes)


@pytest.fixture(scope="module")
def dev_split(indexes):
    questions = quality.load_question_file(quality.QUESTIONS / "v2" / "dev.jsonl")
    return quality.run(index_root=indexes, questions=questions)


def _check(outcomes, floors, label):
    figures = quality.figures(outcomes)
    for name, floor in floors.items():
        assert figures[name] >= floor, f"{label} {name} {figures[name]:.3f} < {floor}"
    return figures


@pytest.mark.parametrize("collection", ["runbooks", "corpus"])
def test_first_set_floor(first_set, collection):
    if collection == "corpus" and not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present on this machine")
    _check(first_set[collection], FIRST_SET[collection], collection)


def test_first_set_wrongly_refuses_few(first_set):
    everything = [outcome for outcomes in first_set.values() for outcome in outcomes]
    assert quality.figures(everything)["refuse_answerable"] <= MAX_REFUSED


def test_dev_split_floor(dev_split):
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present on this machine")
    everything = [outcome for outcomes in dev_split.values() for outcome in outcomes]
    figures = _check(everything, DEV, "v2 dev")
    assert figures["refuse_answerable"] <= MAX_REFUSED


def test_the_question_set_is_big_and_varied_enough():
    questions = quality.load_questions("corpus") + quality.load_questions("runbooks")
    kinds = {q.kind for q in questions}
    unanswerable = sum(not q.expect for q in questions) / len(questions)
    assert len(questions) >= 80 and kinds == {"howto", "error", "concept", "unanswerable"}
    assert 0.10 <= unanswerable <= 0.20


def test_a_mixed_question_file_is_measured_per_collection_and_named_after_its_split():
    dev = quality.load_question_file(quality.QUESTIONS / "v2" / "dev.jsonl")
    test = quality.load_question_file(quality.QUESTIONS / "v2" / "test.jsonl")
    assert {q.split for q in dev} == {"dev"} and {q.split for q in test} == {"test"}
    assert {q.collection for q in dev} == {q.collection for q in test} == {"runbooks", "corpus"}
    forced = quality.load_question_file(quality.QUESTIONS / "v2" / "dev.jsonl", "runbooks")
    assert {q.collection for q in forced} == {"runbooks"}
