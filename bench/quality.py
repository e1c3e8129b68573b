"""Answer quality on a question set: by default the project's own (tests/questions/*.jsonl).

Prints hit@1, hit@3, MRR and abstention figures, per collection, per split and per kind.
A hit is an expected (file, heading) among the results; an abstention on an answerable
question counts as a miss.

Without --questions it measures the first question set, one file per collection, split by
id (dev: odd ids, used while tuning; held-out: even ids). With --questions it measures the
given file(s), e.g. the blind set of tests/questions/v4/: each question's collection comes
from --collection, else its own "collection" field, else the file's name. Such a run ends
with one log line per collection, the record kept of every run of a test.jsonl
(see tests/questions/v4/README.md). --misses never applies to a file named test.jsonl.

--half a|b keeps one fixed half of the given file(s): a change is decided on one half of
the dev split and confirmed on the other, so that tuning on dev does not fool itself.

    python bench/quality.py [--misses] [--split dev|holdout|all]
    python bench/quality.py --questions tests/questions/v4/dev.jsonl [--misses] [--half a|b]
    python bench/quality.py --questions tests/questions/v4/test.jsonl [--both]
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge import embedding
from bot.knowledge.base import KnowledgeBase

QUESTIONS = ROOT / "tests" / "questions"
COLLECTIONS = {"runbooks": ROOT / "runbooks", "corpus": ROOT.parent / "shared" / "corpus"}
HELD_OUT = "test.jsonl"  # a file of this name is run only to report, never to look at misses
HALF_SEED = 2027  # fixed once, before any tuning on the halves


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    kind: str
    expect: frozenset[tuple[str, str]]
    collection: str
    split: str


def _question(item: dict, collection: str, split: str) -> Question:
    expect = frozenset((e["file"], e["heading"]) for e in item["expect"])
    return Question(item["id"], item["q"], item["kind"], expect, collection, split)


def _items(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_questions(collection: str) -> list[Question]:
    """The first question set of ``collection``: odd ids are dev, even ids held out."""
    items = _items(QUESTIONS / f"{collection}.jsonl")
    return [_question(i, collection, "dev" if int(i["id"][1:]) % 2 else "holdout") for i in items]


def load_question_file(path: Path, collection: str | None = None) -> list[Question]:
    """The questions of ``path``, their split named after the file (``dev``, ``test``)."""
    questions = []
    for item in _items(path):
        chosen = collection or item.get("collection") or path.stem
        if chosen not in COLLECTIONS:
            raise SystemExit(f"{path}: question {item['id']} names no collection; "
                             f"pass --collection {'|'.join(COLLECTIONS)}")
        questions.append(_question(item, chosen, path.stem))
    return questions


def half(questions: list[Question], which: str) -> list[Question]:
    """Half ``a`` or ``b`` of ``questions``: each (collection, kind) group, in file
    order, is shuffled with `HALF_SEED` and dealt alternately; a group with an odd
    count gives its extra question to a and b in turn."""
    groups: dict[tuple[str, str], list[Question]] = defaultdict(list)
    for question in questions:
        groups[question.collection, question.kind].append(question)
    shuffler = random.Random(HALF_SEED)
    chosen: set[str] = set()
    first = 0  # 0: the group's first question goes to a
    for key in sorted(groups):
        group = list(groups[key])
        shuffler.shuffle(group)
        chosen.update(q.id for q in group[(first + (which == "b")) % 2::2])
        first ^= len(group) % 2
    return [q for q in questions if q.id in chosen]


@dataclass
class Outcome:
    question: Question
    rank: int | None  # 1-based rank of the first expected section; None if absent
    abstained: bool
    top: list[tuple[str, str]]
    hedged: bool = False  # answered as "the closest section" (`answerability.verdict`)

    @property
    def misleads(self) -> bool:
        """Answered, but a near miss or with a wrong first section."""
        return not self.abstained and (not self.question.expect or self.rank != 1)


def evaluate(knowledge: KnowledgeBase, questions: list[Question], limit: int = 10) -> list[Outcome]:
    outcomes = []
    for question in questions:
        ranking = knowledge.lookup(question.text, limit)
        hits = ranking.hits if ranking.answerable else []
        top = [(h.section.file, h.section.heading) for h in hits]
        rank = next((i for i, key in enumerate(top, 1) if key in question.expect), None)
        outcomes.append(Outcome(question, rank, not hits, top, bool(hits) and not ranking.clear))
    return outcomes


def figures(outcomes: list[Outcome]) -> dict[str, float]:
    answerable = [o for o in outcomes if o.question.expect]
    unanswerable = [o for o in outcomes if not o.question.expect]
    n = max(len(answerable), 1)
    return {
        "questions": len(outcomes),
        "hit@1": sum(o.rank == 1 for o in answerable) / n,
        "hit@3": sum(o.rank is not None and o.rank <= 3 for o in answerable) / n,
        "mrr": sum(1 / o.rank for o in answerable if o.rank) / n,
        "abstain_unanswerable": sum(o.abstained for o in unanswerable) / max(len(unanswerable), 1),
        "refuse_answerable": sum(o.abstained for o in answerable) / n,
        "hedged": sum(o.hedged for o in outcomes),
        "hedged_misleading": sum(o.hedged and o.misleads for o in outcomes),
        "plain": sum(not o.abstained and not o.hedged for o in outcomes),
        "plain_misleading": sum(not o.hedged and o.misleads for o in outcomes),
    }


def _hedges(f: dict[str, float]) -> str:
    """How many answers were hedged, and how many of those and of the plain ones misled."""
    return (f"hedged={f['hedged']:.0f} ({f['hedged_misleading']:.0f} misleading) "
            f"plain={f['plain']:.0f} ({f['plain_misleading']:.0f} misleading)")


def run(split: str = "all", index_root: Path | None = None, questions: list[Question] | None = None,
        semantic: bool | None = None) -> dict[str, list[Outcome]]:
    """Outcomes per collection, for ``questions`` or by default the first set (``split`` of it);
    ``semantic`` False measures the words-only ranker even where the extra is installed."""
    if questions is None:
        questions = [q for c in COLLECTIONS for q in load_questions(c) if split in ("all", q.split)]
    by_collection: dict[str, list[Question]] = defaultdict(list)
    for question in questions:
        by_collection[question.collection].append(question)
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for collection, folder in COLLECTIONS.items():
            if collection not in by_collection:
                continue
            if not folder.is_dir():
                print(f"{collection}: {folder} absent, skipped")
                continue
            knowledge = KnowledgeBase(folder, Path(index_root or scratch) / collection, semantic=semantic)
            knowledge.refresh()
            results[collection] = evaluate(knowledge, by_collection[collection])
    return results


def _print(label: str, outcomes: list[Outcome]) -> None:
    f = figures(outcomes)
    print(f"{label:<28} n={f['questions']:<4} hit@1 {f['hit@1']:.3f}  hit@3 {f['hit@3']:.3f}  "
          f"MRR {f['mrr']:.3f}  abstain(unans.) {f['abstain_unanswerable']:.2f}  "
          f"refuse(ans.) {f['refuse_answerable']:.3f}  {_hedges(f)}")


def _print_collection(collection: str, outcomes: list[Outcome], splits: Iterable[str], kind_label: str) -> None:
    for split in splits:
        part = [o for o in outcomes if o.question.split == split]
        if part:
            _print(f"{collection} {split}", part)
    by_kind = defaultdict(list)
    for o in outcomes:
        by_kind[o.question.kind].append(o)
    for kind, part in sorted(by_kind.items()):
        _print(f"  {collection} {kind_label} {kind}", part)


def _print_misses(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        if (o.question.expect and o.rank != 1) or (not o.question.expect and not o.abstained):
            print(f"\n{o.question.id} [{o.question.kind}] rank={o.rank} abstained={o.abstained}: {o.question.text}")
            print(f"   want {sorted(o.question.expect)}")
            for key in o.top[:3]:
                print(f"   got  {key}")


def _commit() -> str:
    """The checked-out commit, marked ``-dirty`` when the work tree has changes."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}-dirty" if dirty else head


def log_line(files: str, collection: str, outcomes: list[Outcome], note: str) -> str:
    """One line recording a run: date, commit, files, collection, figures, install note."""
    f = figures(outcomes)
    unanswerable = [o for o in outcomes if not o.question.expect]
    answerable = [o for o in outcomes if o.question.expect]
    return (f"{datetime.date.today().isoformat()} {_commit()} {files} {collection} "
            f"n={f['questions']} hit@1={f['hit@1']:.3f} hit@3={f['hit@3']:.3f} MRR={f['mrr']:.3f} "
            f"abstain={sum(o.abstained for o in unanswerable)}/{len(unanswerable)} "
            f"refused={sum(o.abstained for o in answerable)}/{len(answerable)} {_hedges(f)} install={note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="all", choices=("dev", "holdout", "all"),
                        help="part of the first question set (ignored with --questions)")
    parser.add_argument("--questions", type=Path, action="append", metavar="PATH",
                        help="a question file to measure instead of the first set (repeatable)")
    parser.add_argument("--collection", choices=sorted(COLLECTIONS),
                        help="collection of every question in --questions (default: per question)")
    parser.add_argument("--note", default="semantic" if embedding.available() else "default",
                        help="install measured, for the log line (default: what is installed)")
    parser.add_argument("--half", choices=("a", "b"), help="one fixed half of --questions (see `half`)")
    parser.add_argument("--misses", action="store_true", help="list the questions not answered first")
    parser.add_argument("--both", action="store_true",
                        help="with the semantic extra installed, measure the words-only ranker (the default "
                             "install) and the re-ranker in one run: one look at a held-out file for both")
    parser.add_argument("--index-root", type=Path, metavar="DIR",
                        help="keep the indexes (and section vectors) here between runs, one folder per collection")
    args = parser.parse_args()
    if args.questions:
        if args.misses and any(p.name == HELD_OUT for p in args.questions):
            parser.error(f"{HELD_OUT} is run only to report: --misses is for the dev split")
        questions = [q for p in args.questions for q in load_question_file(p, args.collection)]
        if args.half:
            questions = half(questions, args.half)
        splits = list(dict.fromkeys(q.split for q in questions))
        kind_label = "+".join(splits)
    else:
        questions, splits, kind_label = None, ["dev", "holdout"], args.split
    if args.both and not embedding.available():
        parser.error("--both needs the semantic extra: pip install 'gntbot[semantic]'")
    installs = [(False, "default"), (True, "semantic")] if args.both else [(None, args.note)]
    for semantic, note in installs:
        if args.both:
            print(f"== install: {note}")
        results = run(args.split, index_root=args.index_root, questions=questions, semantic=semantic)
        _report(results, splits, kind_label, args.misses)
        if args.questions:
            files = ",".join(p.name for p in args.questions)
            print()
            for collection, outcomes in results.items():
                print(log_line(files, collection, outcomes, note))


def _report(results: dict[str, list[Outcome]], splits: list[str], kind_label: str, misses: bool) -> None:
    for collection, outcomes in results.items():
        _print_collection(collection, outcomes, splits, kind_label)
    everything = [o for outcomes in results.values() for o in outcomes]
    _print(f"all {kind_label}", everything)
    if misses:
        _print_misses(everything)


if __name__ == "__main__":
    main()
