"""``gntbot``: index, search, ask, console, check-config, run."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

from bot.app import Application
from bot.config import Config, load_config
from bot.core.message import Identity, Message
from bot.errors import GntbotError
from bot.knowledge.answer import link
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.index import RunbookIndex
from bot.transports.console import ConsoleTransport

log = logging.getLogger("gntbot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gntbot",
        description="ChatOps bot for Ganeti clusters. Without -c it uses the shipped runbooks.",
    )
    parser.add_argument("-c", "--config", type=Path, default=os.environ.get("GNTBOT_CONFIG"),
                        help="configuration file (TOML); default: $GNTBOT_CONFIG, else built-in defaults")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging details to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_paths(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument("--runbooks", type=Path, help="folder of Markdown runbooks (overrides the config)")
        sub.add_argument("--index", type=Path, help="folder of the search index (overrides the config)")
        return sub

    with_paths(commands.add_parser("index", help="build or update the search index"))
    search = with_paths(commands.add_parser("search", help="list the sections matching a query"))
    search.add_argument("--json", action="store_true", help="print a JSON array of hits ([] when abstaining)")
    search.add_argument("--limit", type=int, default=5, help="at most this many hits (default 5)")
    search.add_argument("query", nargs="+")
    ask = with_paths(commands.add_parser("ask", help="answer a question as the channel would see it"))
    ask.add_argument("question", nargs="+")
    with_paths(commands.add_parser("console", help="chat with the bot on stdin/stdout"))
    commands.add_parser("check-config", help="validate the configuration file and exit")
    commands.add_parser("run", help="join the configured chat networks and serve")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = _config(args)
        return _COMMANDS[args.command](args, config)
    except GntbotError as error:
        print(f"gntbot: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _config(args: argparse.Namespace) -> Config:
    config = load_config(args.config) if args.config else Config.default()
    knowledge = config.knowledge
    if getattr(args, "runbooks", None):
        knowledge = replace(knowledge, runbooks=args.runbooks)
    if getattr(args, "index", None):
        knowledge = replace(knowledge, index=args.index)
    return replace(config, knowledge=knowledge)


def _knowledge(config: Config) -> KnowledgeBase:
    settings = config.knowledge
    knowledge = KnowledgeBase(settings.runbooks, settings.index, settings.base_url)
    knowledge.refresh()
    return knowledge


def _index(args: argparse.Namespace, config: Config) -> int:
    report = RunbookIndex(config.knowledge.runbooks, config.knowledge.index).update()
    for skipped in report.skipped:
        print(f"skipped: {skipped}", file=sys.stderr)
    print(f"{config.knowledge.index}: {report.summary()}")
    return 0


def _search(args: argparse.Namespace, config: Config) -> int:
    knowledge = _knowledge(config)
    hits = knowledge.search(" ".join(args.query), max(args.limit, 1))
    if args.json:
        print(json.dumps([
            {
                "file": hit.section.file,
                "heading": hit.section.heading,
                "anchor": hit.section.anchor,
                "score": round(hit.score, 4),
                "breadcrumbs": hit.section.breadcrumbs,
                "link": link(hit.section, knowledge.base_url),
            }
            for hit in hits
        ], ensure_ascii=False, indent=1))
        return 0
    if not hits:
        print("no section answers that.")
    for rank, hit in enumerate(hits, 1):
        print(f"{rank}. {hit.section.breadcrumbs} — {link(hit.section, knowledge.base_url)}  ({hit.score:.2f})")
    return 0


def _ask(args: argparse.Namespace, config: Config) -> int:
    """Print exactly what a channel would see, first page included."""
    application = Application(config, _knowledge(config))
    asker = Identity("console", config.console_user, account=config.console_user)
    message = Message(" ".join(args.question), asker, room="#channel", addressed=True)
    reply = asyncio.run(application.dispatcher.handle(message))
    print("\n".join(reply.lines))
    return 0


def _console(args: argparse.Namespace, config: Config) -> int:
    application = Application(config, _knowledge(config))

    async def session() -> None:
        watcher = asyncio.create_task(application.watch_runbooks())
        try:
            await ConsoleTransport(config.console_user).run(application.dispatcher)
        finally:
            watcher.cancel()

    asyncio.run(session())
    return 0


def _check_config(args: argparse.Namespace, config: Config) -> int:
    where = config.source or "built-in defaults"
    networks = [f"irc:{irc.network}" for irc in config.irc] + (["xmpp"] if config.xmpp else [])
    print(f"{where}: OK (runbooks {config.knowledge.runbooks}, index {config.knowledge.index}, "
          f"{len(config.access.directory.people)} people, clusters: {', '.join(c.name for c in config.clusters) or 'none'}, "
          f"chat: {', '.join(networks) or 'none'})")
    return 0


def _run(args: argparse.Namespace, config: Config) -> int:
    from bot.transports.runner import build_transports, serve

    if not args.verbose:
        logging.getLogger().setLevel(config.bot.log_level)
    transports = build_transports(config)
    asyncio.run(serve(Application(config, _knowledge(config)), transports))
    return 0


_COMMANDS = {
    "index": _index,
    "search": _search,
    "ask": _ask,
    "console": _console,
    "check-config": _check_config,
    "run": _run,
}
