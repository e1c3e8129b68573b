"""Answer quality on the project's question set must not regress below what we reached.

The floors sit a little under the measured figures (see bench/quality.py and
the README); they protect the ranking from silent damage, they are not goals.
"""

from __future__ import annotations

import sys

import pytest

from conftest import CORPUS, PROJECT

sys.path.insert(0, str(PROJECT / "bench"))
import quality  # noqa: E402

FLOORS = {
    "runbooks": {"hit@1": 0.80, "hit@3": 0.88, "mrr": 0.85, "abstain_unanswerable": 0.55},
    "corpus": {"hit@1": 0.78, "hit@3": 0.85, "mrr": 0.82, "abstain_unanswerable": 0.50},
}
MAX_REFUSED = 0.05


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return quality.run(index_root=tmp_path_factory.mktemp("quality"))


@pytest.mark.parametrize("collection", ["runbooks", "corpus"])
def test_quality_floor(results, collection):
    if collection == "corpus" and not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not present on this machine")
    figures = quality.figures(results[collection])
    for name, floor in FLOORS[collection].items():
        assert figures[name] >= floor, f"{collection} {name} {figures[name]:.3f} < {floor}"
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
