"""Answer quality on the project's own question set (tests/questions/*.jsonl).

Prints hit@1, hit@3, MRR and abstention figures, per collection, per split
(dev: odd ids, used while tuning; held-out: even ids, never looked at while
tuning) and per kind. A hit is an expected (file, heading) among the results;
an abstention on an answerable question counts as a miss.

    python bench/quality.py [--misses] [--split dev|holdout|all]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge.base import KnowledgeBase  # noqa: E402

QUESTIONS = ROOT / "tests" / "questions"
COLLECTIONS = {"runbooks": ROOT / "runbooks", "corpus": ROOT.parent / "shared" / "corpus"}


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    kind: str
    expect: frozenset[tuple[str, str]]

    @property
    def split(self) -> str:
        return "dev" if int(self.id[1:]) % 2 else "holdout"


def load_questions(collection: str) -> list[Question]:
    questions = []
    for line in (QUESTIONS / f"{collection}.jsonl").read_text().splitlines():
        if line.strip():
            item = json.loads(line)
            expect = frozenset((e["file"], e["heading"]) for e in item["expect"])
            questions.append(Question(item["id"], item["q"], item["kind"], expect))
    return questions


@dataclass
class Outcome:
    question: Question
    rank: int | None  # 1-based rank of the first expected section; None if absent
    abstained: bool
    top: list[tuple[str, str]]


def evaluate(knowledge: KnowledgeBase, questions: list[Question], limit: int = 10) -> list[Outcome]:
    outcomes = []
    for question in questions:
        hits = knowledge.search(question.text, limit)
        top = [(h.section.file, h.section.heading) for h in hits]
        rank = next((i for i, key in enumerate(top, 1) if key in question.expect), None)
        outcomes.append(Outcome(question, rank, not hits, top))
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
    }


def run(split: str = "all", index_root: Path | None = None) -> dict[str, list[Outcome]]:
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for collection, folder in COLLECTIONS.items():
            if not folder.is_dir():
                print(f"{collection}: {folder} absent, skipped")
                continue
            knowledge = KnowledgeBase(folder, Path(index_root or scratch) / collection)
            knowledge.refresh()
            questions = [q for q in load_questions(collection) if split in ("all", q.split)]
            results[collection] = evaluate(knowledge, questions)
    return results


def _print(label: str, outcomes: list[Outcome]) -> None:
    f = figures(outcomes)
    print(f"{label:<28} n={f['questions']:<4} hit@1 {f['hit@1']:.3f}  hit@3 {f['hit@3']:.3f}  "
          f"MRR {f['mrr']:.3f}  abstain(unans.) {f['abstain_unanswerable']:.2f}  "
          f"refuse(ans.) {f['refuse_answerable']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="all", choices=("dev", "holdout", "all"))
    parser.add_argument("--misses", action="store_true", help="list the questions not answered first")
    args = parser.parse_args()
    results = run(args.split)
    for collection, outcomes in results.items():
        for split in ("dev", "holdout"):
            part = [o for o in outcomes if o.question.split == split]
            if part:
                _print(f"{collection} {split}", part)
        by_kind = defaultdict(list)
        for o in outcomes:
            by_kind[o.question.kind].append(o)
        for kind, part in sorted(by_kind.items()):
            _print(f"  {collection} {args.split} {kind}", part)
    everything = [o for outcomes in results.values() for o in outcomes]
    _print(f"all {args.split}", everything)
    if args.misses:
        for o in everything:
            if (o.question.expect and o.rank != 1) or (not o.question.expect and not o.abstained):
                print(f"\n{o.question.id} [{o.question.kind}] rank={o.rank} abstained={o.abstained}: {o.question.text}")
                print(f"   want {sorted(o.question.expect)}")
                for key in o.top[:3]:
                    print(f"   got  {key}")


if __name__ == "__main__":
    main()
