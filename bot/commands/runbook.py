"""``!search``, ``!howto``, plain questions and ``!reindex``: the runbook's chat face."""

from __future__ import annotations

from bot.core.access import Permission
from bot.core.message import NO_REPLY, Message, Reply
from bot.core.registry import Invocation, Registry
from bot.errors import GntbotError
from bot.knowledge import metrics as outcomes
from bot.knowledge.answer import Answer, Hit, link
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.metrics import KnowledgeMetrics
from bot.metrics import Metrics
from bot.workers import Workers

MAX_COMMAND_LINES = 12
SEARCH_RESULTS = 5
KNOWLEDGE_THREADS = 2  # ranking holds the interpreter lock anyway; one more lets a reindex run beside it


def format_answer(answer: Answer) -> list[str]:
    """The lines the channel sees for one answer: where, gist, commands."""
    lines = [f"{answer.section.breadcrumbs} — {answer.link}"]
    if answer.gist:
        lines.append(answer.gist)
    commands = list(answer.commands[:MAX_COMMAND_LINES])
    lines.extend(f"  {command}" for command in commands)
    more = len(answer.commands) - len(commands) + answer.more_commands
    if more:
        lines.append(f"  … {more} more command lines in the runbook")
    return lines


def format_refusal(closest: list[Hit], base_url: str) -> list[str]:
    lines = ["I found nothing in the runbooks that answers that."]
    if closest:
        nearest = "; ".join(f"{hit.section.breadcrumbs} ({link(hit.section, base_url)})" for hit in closest)
        lines.append(f"Closest sections: {nearest}")
    return lines


class RunbookCommands:
    """Binds the knowledge base to chat commands."""

    def __init__(self, knowledge: KnowledgeBase, prefix: str, metrics: KnowledgeMetrics | None = None) -> None:
        self.knowledge = knowledge
        self.prefix = prefix
        self.metrics = metrics or KnowledgeMetrics(Metrics.detached())
        self.workers = Workers("knowledge", KNOWLEDGE_THREADS)  # never behind a slow cluster

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
        return Reply.of(
            *(f"{rank}. {hit.section.breadcrumbs} — {link(hit.section, self.knowledge.base_url)}"
              for rank, hit in enumerate(ranking.hits, 1))
        )

    async def howto(self, call: Invocation) -> Reply:
        if not call.args:
            return Reply.of(f"usage: {self.prefix}howto QUESTION (e.g. {self.prefix}howto rebalance the cluster)")
        return await self._answer(call.args)

    async def question(self, message: Message) -> Reply:
        """A plain line addressed to the bot is a question."""
        return await self._answer(message.text)

    async def offer(self, message: Message) -> Reply:
        """A Ganeti error pasted in a channel, not addressed to the bot: point to
        the runbook section that covers it, or stay quiet if none does."""
        answer, _ = await self.workers.run(self.knowledge.answer, message.text)
        if answer is None:
            return NO_REPLY
        return Reply.of(
            f"{message.sender.name}: that error is covered in {answer.section.breadcrumbs} — {answer.link}"
        )

    async def _answer(self, question: str) -> Reply:
        try:
            with self.metrics.search_seconds.time():
                answer, closest = await self.workers.run(self.knowledge.answer, question)
        except Exception as error:
            self.metrics.questions.labels(outcomes.ERROR if isinstance(error, GntbotError)
                                          else outcomes.INTERNAL_ERROR).inc()
            raise
        self.metrics.questions.labels(outcomes.ABSTAINED if answer is None else outcomes.ANSWERED).inc()
        if answer is None:
            return Reply.of(*format_refusal(closest, self.knowledge.base_url))
        return Reply.of(*format_answer(answer))

    async def reindex(self, call: Invocation) -> Reply:
        report = await self.workers.run(self.knowledge.refresh)
        return Reply.of(f"runbooks re-read: {report.summary()}.")
