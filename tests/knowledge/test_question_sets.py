"""The question sets that judge the ranker must be well formed and point at real sections.

A question whose expected (file, heading) does not exist can never be answered right, and
would silently lower every figure measured on it. Headings are read here with markdown-it
directly, independently of the bot's own parser: the check must not depend on the code it
judges. A heading is the text of the Markdown heading as written (inline markup kept, the
`#` marks and trailing `#`s removed), which is what the bot reports as a section's heading.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from conftest import CORPUS, PROJECT, SHIPPED
from markdown_it import MarkdownIt

QUESTIONS = PROJECT / "tests" / "questions"
ROOTS = {"runbooks": SHIPPED, "corpus": CORPUS}
KINDS = {"howto", "error", "concept", "unanswerable"}
FIELDS = {"id", "q", "kind", "expect"}

_MARKDOWN = MarkdownIt("commonmark").enable("table")


def question_files() -> list[Path]:
    """The first set (one file per collection) and every blind set (``v2/``, ``v3/``...)."""
    return sorted(QUESTIONS.glob("*.jsonl")) + sorted(QUESTIONS.glob("v*/*.jsonl"))


def read_questions(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def collection_of(item: dict, path: Path) -> str:
    """The blind sets name each question's collection; the first set is one file per collection."""
    return item.get("collection", path.stem)


@cache
def sections_with_content(page: Path) -> frozenset[str]:
    """Headings of ``page`` whose section (up to the next heading) holds any text or code."""
    tokens = _MARKDOWN.parse(page.read_text(encoding="utf-8", errors="replace"))
    found: set[str] = set()
    heading = None
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            heading = tokens[index + 1].content.strip()
        elif heading is not None and token.type not in ("inline", "heading_close"):
            found.add(heading)
    return frozenset(found)


def missing_sections(root: Path, questions: list[dict]) -> list[str]:
    """Each expected (file, heading) that is not a section with content under ``root``."""
    problems = []
    for item in questions:
        for want in item["expect"]:
            page = root / want["file"]
            if not page.is_file():
                problems.append(f"{item['id']}: no file {want['file']}")
            elif want["heading"] not in sections_with_content(page):
                problems.append(f"{item['id']}: {want['file']} has no section {want['heading']!r}")
    return problems


@pytest.mark.parametrize("path", question_files(), ids=lambda p: p.relative_to(QUESTIONS).as_posix())
def test_every_question_is_well_formed(path: Path):
    questions = read_questions(path)
    assert questions, f"{path} is empty"
    ids = Counter(item["id"] for item in questions)
    assert not [i for i, n in ids.items() if n > 1], f"duplicate ids in {path}"
    for item in questions:
        assert FIELDS <= item.keys(), f"{item.get('id')}: missing {FIELDS - item.keys()}"
        assert isinstance(item["q"], str) and item["q"].strip(), item["id"]
        assert item["kind"] in KINDS, f"{item['id']}: kind {item['kind']!r}"
        assert collection_of(item, path) in ROOTS, f"{item['id']}: collection unknown"
        assert (item["kind"] == "unanswerable") == (not item["expect"]), (
            f"{item['id']}: only unanswerable questions have no expected section"
        )
        for want in item["expect"]:
            assert set(want) == {"file", "heading"}, item["id"]
            assert not Path(want["file"]).is_absolute() and ".." not in Path(want["file"]).parts


def file_collections() -> list[tuple[Path, str]]:
    """Each question file with each collection its questions are about."""
    return [
        (path, collection)
        for path in question_files()
        for collection in sorted({collection_of(item, path) for item in read_questions(path)})
    ]


@pytest.mark.parametrize(
    ("path", "collection"),
    file_collections(),
    ids=[f"{p.relative_to(QUESTIONS).as_posix()}:{c}" for p, c in file_collections()],
)
def test_every_expected_section_exists(path: Path, collection: str):
    questions = [item for item in read_questions(path) if collection_of(item, path) == collection]
    if not ROOTS[collection].is_dir():
        pytest.skip("../shared/corpus is not present on this machine")
    assert missing_sections(ROOTS[collection], questions) == []


def test_the_check_catches_a_wrong_heading_and_an_empty_parent(tmp_path: Path):
    (tmp_path / "howto").mkdir()
    (tmp_path / "howto" / "drbd.md").write_text(
        "# DRBD\n\n## Split brain recovery\n\nPick the victim.\n\n```\ndrbdadm connect r0\n```\n"
    )
    questions = [
        {"id": "x1", "expect": [{"file": "howto/drbd.md", "heading": "Split brain recovery"}]},
        {"id": "x2", "expect": [{"file": "howto/drbd.md", "heading": "Split-brain recovery"}]},
        {"id": "x3", "expect": [{"file": "howto/drbd.md", "heading": "DRBD"}]},
        {"id": "x4", "expect": [{"file": "howto/lvm.md", "heading": "Resizing"}]},
    ]
    assert [p.split(":")[0] for p in missing_sections(tmp_path, questions)] == ["x2", "x3", "x4"]


def blind(version: str, split: str) -> list[dict]:
    return read_questions(QUESTIONS / version / f"{split}.jsonl")


def v2(split: str) -> list[dict]:
    return blind("v2", split)


def v3() -> list[dict]:
    """The second blind set: one file, run only to report, so it has no dev split."""
    return blind("v3", "test")


def v4(split: str) -> list[dict]:
    """The third blind set: a third to look at and tune on (dev), two thirds only to report (test)."""
    return blind("v4", split)


def test_the_blind_set_is_split_once_half_and_half_per_collection():
    dev, test = v2("dev"), v2("test")
    assert all(item["id"].startswith("d") for item in dev)
    assert all(item["id"].startswith("t") for item in test)
    assert len(dev) + len(test) >= 170
    for collection in ROOTS:
        in_dev = [item["q"] for item in dev if item["collection"] == collection]
        in_test = [item["q"] for item in test if item["collection"] == collection]
        assert abs(len(in_dev) - len(in_test)) <= 2, collection
        assert not set(in_dev) & set(in_test), f"{collection}: a question is in both splits"


BLIND_SETS = {
    "v2": lambda: v2("dev") + v2("test"),
    "v3": v3,
    "v4": lambda: v4("dev") + v4("test"),
    "v4/dev": lambda: v4("dev"),
    "v4/test": lambda: v4("test"),
}


@pytest.mark.parametrize(("version", "collection"), [(v, c) for v in BLIND_SETS for c in sorted(ROOTS)])
def test_the_blind_set_mixes_kinds_like_operators_ask(version: str, collection: str):
    questions = [item for item in BLIND_SETS[version]() if item["collection"] == collection]
    kinds = Counter(item["kind"] for item in questions)
    share = {kind: kinds[kind] / len(questions) for kind in KINDS}
    assert 0.38 <= share["howto"] <= 0.52, share
    assert 0.15 <= share["error"] <= 0.25, share
    assert 0.15 <= share["concept"] <= 0.25, share
    assert 0.12 <= share["unanswerable"] <= 0.18, share


def normalised(text: str) -> str:
    return " ".join(text.lower().split())


def test_the_second_blind_set_is_one_numbered_file_over_both_collections():
    questions = v3()
    assert [p.name for p in (QUESTIONS / "v3").glob("*.jsonl")] == ["test.jsonl"]
    assert [item["id"] for item in questions] == [f"v{n:03d}" for n in range(1, len(questions) + 1)]
    assert len(questions) >= 140
    per_collection = Counter(item["collection"] for item in questions)
    assert per_collection["runbooks"] >= 50 and per_collection["corpus"] >= 80, per_collection


def set_number(path: Path) -> int:
    """The first set (``tests/questions/*.jsonl``) is 1; a blind set ``vN/`` is N."""
    return int(path.parent.name[1:]) if path.parent != QUESTIONS else 1


def repeats_of_earlier_sets(version: int, questions: list[dict]) -> list[str]:
    """Ids of ``questions`` whose text (case and spacing ignored) is in a set written before them.

    Only ids are returned, never the earlier questions: the blind sets were written without
    reading the earlier ones, and a failing check must not show them either.
    """
    earlier = [path for path in question_files() if set_number(path) < version]
    seen = {normalised(item["q"]) for path in earlier for item in read_questions(path)}
    return [item["id"] for item in questions if normalised(item["q"]) in seen]


def test_the_second_blind_set_repeats_no_question_of_the_earlier_sets():
    repeated = repeats_of_earlier_sets(3, v3())
    assert repeated == [], "v3 was written independently; these ids repeat an earlier question"


def test_the_third_blind_set_is_numbered_across_its_two_files():
    dev, test = v4("dev"), v4("test")
    assert sorted(p.name for p in (QUESTIONS / "v4").glob("*.jsonl")) == ["dev.jsonl", "test.jsonl"]
    for split in (dev, test):
        ids = [item["id"] for item in split]
        assert ids == sorted(ids), "each file is sorted by id"
    every = sorted(item["id"] for item in dev + test)
    assert every == [f"w{n:03d}" for n in range(1, len(every) + 1)], "ids w001... with no gap or repeat"
    assert len(every) >= 160
    per_collection = Counter(item["collection"] for item in dev + test)
    assert per_collection["runbooks"] >= 55 and per_collection["corpus"] >= 95, per_collection


def test_the_third_blind_set_is_split_one_third_dev_in_every_collection_and_kind():
    dev, test = v4("dev"), v4("test")
    in_dev = Counter((item["collection"], item["kind"]) for item in dev)
    in_test = Counter((item["collection"], item["kind"]) for item in test)
    for stratum in in_dev.keys() | in_test.keys():
        total = in_dev[stratum] + in_test[stratum]
        assert in_dev[stratum] == round(total / 3), (stratum, in_dev[stratum], total)
    assert not {normalised(i["q"]) for i in dev} & {normalised(i["q"]) for i in test}


def test_the_third_blind_set_repeats_no_question_of_the_earlier_sets():
    repeated = repeats_of_earlier_sets(4, v4("dev") + v4("test"))
    assert repeated == [], "v4 was written independently; these ids repeat an earlier question"


def test_the_repeat_check_finds_a_repeat_without_showing_it():
    earlier = read_questions(question_files()[0])[0]
    copy = {"id": "w999", "q": "  " + earlier["q"].upper() + " "}
    found = repeats_of_earlier_sets(4, [copy, {"id": "w998", "q": "a question nobody asked before"}])
    assert found == ["w999"]  # only ids: a failure shows no earlier question
