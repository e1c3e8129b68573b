"""``!search``, ``!howto``, plain questions and ``!reindex``: the runbook's chat face."""

from __future__ import annotations

from bot.core.access import Permission
from bot.core.message import NO_REPLY, Message, Reply
from bot.core.registry import Invocation, Registry
from bot.errors import GntbotError
from bot.knowledge import metrics as outcomes
from bot.knowledge.answer import Answer, Hit, link
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.blocks import Block, Kind
from bot.knowledge.metrics import KnowledgeMetrics
from bot.metrics import Metrics
from bot.workers import Workers

MAX_COMMAND_LINES = 12
SEARCH_RESULTS = 5
KNOWLEDGE_THREADS = 2  # ranking holds the interpreter lock anyway; one more lets a reindex run beside it
# Bytes of text per chat line: an IRC line is 512 bytes with the command, the
# target and the bot's own prefix (up to ~100 bytes) as the server relays it.
LINE_BYTES = 380
# Before an answer whose section holds less than most of what was asked (`Answer.clear`).
UNCLEAR = "Not sure the runbooks cover this; the closest section: "


def fit(text: str, indent: str = "") -> list[str]:
    """``text`` as lines of at most `LINE_BYTES` bytes, broken between words."""
    lines: list[str] = []
    current = indent
    for word in text.split():
        candidate = f"{current} {word}" if current.strip() else indent + word
        if len(candidate.encode()) <= LINE_BYTES:
            current = candidate
            continue
        if current.strip():
            lines.append(current)
        current = indent + word
        while len(current.encode()) > LINE_BYTES:  # one "word" longer than a line
            head = current.encode()[:LINE_BYTES].decode(errors="ignore")
            lines.append(head)
            current = indent + current[len(head):]
    if current.strip():
        lines.append(current)
    return lines


def _one_line(text: str, indent: str = "  ") -> str:
    """A command as one line, never wrapped or cut here: a command longer than a
    chat line (at most `answer.MAX_COMMAND_CHARS`) is split by the transport
    into pieces that arrive whole, so it can still be copied."""
    return indent + text


def format_answer(answer: Answer) -> list[str]:
    """The lines the channel sees for one answer: where, gist, warnings, commands.

    Program output and commands the runbook quotes as a cause are not shown as
    commands: each run of them is one line saying what is there, and their
    text follows the commands.
    """
    lines = fit(("" if answer.clear else UNCLEAR) + f"{answer.section.breadcrumbs} — {answer.link}")
    lines += fit(answer.gist)
    for warning in answer.warnings:
        lines += fit(f"⚠ {warning}")
    shown, appendix, aside = 0, [], []
    for step in answer.steps:
        if step.kind is not Kind.COMMANDS:
            aside.append(step)
            appendix.append(f"{_LABELS[step.kind]}:")
            appendix.extend(_one_line(line, "  | ") for line in step.lines)
            continue
        if aside:
            lines.append(_placeholder(aside))
            aside = []
        kept = step.lines[: max(MAX_COMMAND_LINES - shown, 0)]
        lines.extend(_one_line(command) for command in kept)
        shown += len(kept)
    if aside:
        lines.append(_placeholder(aside))
    more = len(answer.commands) - shown + answer.more_commands
    if more:
        lines.append(f"  … {more} more command lines in the runbook")
    return lines + appendix


_LABELS = {Kind.OUTPUT: "output, as the runbook shows it", Kind.QUOTED: "quoted as the cause, not to run"}


def _placeholder(steps: list[Block]) -> str:
    """One line for a run of blocks that are not commands: "(14 lines of output: after the
    commands)". In chat the rest of a long answer is one !more away; ``gntbot ask``
    on a terminal prints it all."""
    quoted = sum(len(step.lines) for step in steps if step.kind is Kind.QUOTED)
    output = sum(len(step.lines) for step in steps if step.kind is Kind.OUTPUT)
    parts = []
    if quoted:
        parts.append(f"{_count(quoted, 'command line')} the runbook quotes as the cause, not a step")
    if output:
        parts.append(f"{_count(output, 'line')} of output")
    return f"  ({'; '.join(parts)}: after the commands)"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def format_refusal(closest: list[Hit], base_url: str) -> list[str]:
    lines = ["I found nothing in the runbooks that answers that."]
    if closest:
        nearest = "; ".join(f"{hit.section.breadcrumbs} ({link(hit.section, base_url)})" for hit in closest)
        lines += fit(f"Closest sections: {nearest}")
    return lines


def knowledge_workers() -> Workers:
    return Workers("knowledge", KNOWLEDGE_THREADS)


class RunbookCommands:
    """Binds the knowledge base to chat commands."""

    def __init__(self, knowledge: KnowledgeBase, prefix: str, metrics: KnowledgeMetrics | None = None,
                 workers: Workers | None = None) -> None:
        """``workers``: the threads of the commands this replaces (a reload), else new ones."""
        self.knowledge = knowledge
        self.prefix = prefix
        self.metrics = metrics or KnowledgeMetrics(Metrics.detached())
        self.workers = workers or knowledge_workers()  # never behind a slow cluster

    def register(self, registry: Registry) -> None:
        registry.command(
            "search", usage="QUERY", summary="list the runbook sections that match QUERY",
            details="Words, a command name or a pasted error message; best match first.",
        )(self.search)
        registry.command(
            "howto", usage="QUESTION", summary="answer QUESTION with one runbook procedure",
            details="Same as addressing me with a question: heading, gist, commands and a link.",
            aliases=("ask",),
        )(self.howto)
        registry.command(
            "reindex", summary="re-read the runbooks now instead of waiting for the next check",
            permission=Permission.OPERATOR,
        )(self.reindex)

    async def search(self, call: Invocation) -> Reply:
        if not call.args:
            return Reply.of(f"usage: {self.prefix}search QUERY (e.g. {self.prefix}search drbd split brain)")
        with self.metrics.search_seconds.time():
            ranking = await self.workers.run(self.knowledge.lookup, call.args, SEARCH_RESULTS)
        if not ranking.answerable:
            return Reply.of(*format_refusal(ranking.hits[:3], self.knowledge.base_url))
        return Reply.of(*(
            line
            for rank, hit in enumerate(ranking.hits, 1)
            for line in fit(f"{rank}. {hit.section.breadcrumbs} — {link(hit.section, self.knowledge.base_url)}")
        ))

    async def howto(self, call: Invocation) -> Reply:
        if not call.args:
            return Reply.of(f"usage: {self.prefix}howto QUESTION (e.g. {self.prefix}howto rebalance the cluster)")
        return await self._answer(call.args)

    async def question(self, message: Message) -> Reply:
        """A plain line addressed to the bot is a question."""
        return await self._answer(message.text)

    async def offer(self, message: Message) -> Reply:
        """A Ganeti error pasted in a channel, not addressed to the bot: point to
        the runbook section that covers it, or stay quiet if none does clearly
        (nobody asked: a closest section is noise)."""
        answer, _ = await self.workers.run(self.knowledge.answer, message.text)
        if answer is None or not answer.clear:
            return NO_REPLY
        return Reply.of(*fit(
            f"{message.sender.name}: that error is covered in {answer.section.breadcrumbs} — {answer.link}"
        ))

    async def _answer(self, question: str) -> Reply:
        try:
            with self.metrics.search_seconds.time():
                answer, closest = await self.workers.run(self.knowledge.answer, question)
        except Exception as error:
            self.metrics.questions.labels(outcomes.ERROR if isinstance(error, GntbotError)
                                          else outcomes.INTERNAL_ERROR).inc()
            raise
        self.metrics.questions.labels(outcomes.ABSTAINED if answer is None
                                      else outcomes.ANSWERED if answer.clear else outcomes.HEDGED).inc()
        if answer is None:
            return Reply.of(*format_refusal(closest, self.knowledge.base_url))
        return Reply.of(*format_answer(answer))

    async def reindex(self, call: Invocation) -> Reply:
        report = await self.workers.run(self.knowledge.refresh, True)  # asked for: no back-off (`retry`)
        return Reply.of(f"runbooks re-read: {report.summary()}.")
