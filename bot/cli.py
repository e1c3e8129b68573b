"""``gntbot``: index, search, ask, console, check-config, run, status.

Exit status: 0 done; 1 it failed (the bot is not well, a server refused, ...);
2 the command line or the configuration is wrong (the message says what).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import date
from pathlib import Path

from bot import __version__, logs
from bot.actions import audit
from bot.actions.settings import second_person_doubts
from bot.app import Application
from bot.campaigns import cli as campaign_cli
from bot.config import Config, check_knowledge_paths, check_runnable, load_config
from bot.configreader import ConfigError
from bot.core.message import Identity, Message
from bot.errors import GntbotError
from bot.health import HealthReport
from bot.knowledge.answer import link
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.index import RunbookIndexError
from bot.transports.console import ConsoleTransport

log = logging.getLogger("gntbot")

OK, FAILED, USAGE = 0, 1, 2
STATUS_TIMEOUT = 30.0  # the bot probes every cluster, each for up to 10 s, all at once

EXIT_CODES = """exit status: 0 done; 1 failed (e.g. `status`: a network or cluster is down);
2 wrong command line or configuration (the message names the file and key)."""


def _parser() -> argparse.ArgumentParser:
    # -c and -v work before the command and after it; SUPPRESS keeps a value
    # given before the command when none is given after it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", type=Path, default=argparse.SUPPRESS,
                        help="configuration file (TOML); default: $GNTBOT_CONFIG, else built-in defaults")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log debugging details to stderr")
    parser = argparse.ArgumentParser(
        prog="gntbot", parents=[common], epilog=EXIT_CODES,
        description="ChatOps bot for Ganeti clusters. Without -c it uses the shipped runbooks.",
    )
    parser.add_argument("--version", action="version", version=f"gntbot {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, *, paths: bool = False) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=summary, description=summary, epilog=EXIT_CODES)
        if paths:
            sub.add_argument("--runbooks", type=Path, help="folder of Markdown runbooks (overrides the config)")
            sub.add_argument("--index", type=Path, help="folder of the search index (overrides the config)")
        return sub

    command("index", "build or update the search index", paths=True)
    search = command("search", "list the sections matching a query", paths=True)
    search.add_argument("--json", action="store_true", help="print a JSON array of hits ([] when abstaining)")
    search.add_argument("--limit", type=_positive, default=5, metavar="N", help="at most N hits (default 5)")
    search.add_argument("query", nargs="+", type=_words, help="words, a command or a pasted error")
    ask = command("ask", "answer a question as the channel would see it", paths=True)
    ask.add_argument("--lines", type=_positive, metavar="N",
                     help="at most N lines (default: all on a terminal, else one chat page and its !more)")
    ask.add_argument("question", nargs="+", type=_words, help="the question, e.g. how do I rebalance the cluster")
    command("console", "chat with the bot on stdin/stdout", paths=True)
    command("check-config", "validate the configuration as gntbot run would, and exit")
    command("run", "join the configured chat networks and serve (SIGHUP reloads, SIGTERM stops)")
    status = command("status", "ask the running bot whether each network and cluster is well (exit 0 if so)")
    status.add_argument("--json", action="store_true", help="print the bot's JSON health report")
    trail = command("audit", "show the audit log of the actions: who asked, who confirmed, what ran")
    trail.add_argument("--person", help="only steps by or for this person or account (e.g. anarcat, irc:anarcat)")
    trail.add_argument("--instance", help="only steps about this instance or node (full or short name)")
    trail.add_argument("--since", type=date.fromisoformat, help="from this day on (YYYY-MM-DD, UTC)")
    trail.add_argument("--until", type=date.fromisoformat, help="up to and including this day (YYYY-MM-DD, UTC)")
    trail.add_argument("--json", action="store_true", help="print the JSON lines as they are stored")
    _COMMANDS.update(campaign_cli.add_parsers(commands, common))  # announce, reboot-log
    return parser


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    """The parsed command line, with the defaults of the options given on neither side."""
    args = _parser().parse_args(argv)
    if not hasattr(args, "config"):
        args.config = Path(os.environ["GNTBOT_CONFIG"]) if os.environ.get("GNTBOT_CONFIG") else None
    args.verbose = getattr(args, "verbose", False)
    return args


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def _words(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty: give some words")
    return text


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    logs.configure(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        config = _config(args)
        return _COMMANDS[args.command](args, config)
    except ConfigError as error:
        print(f"gntbot: {error}", file=sys.stderr)
        return USAGE
    except GntbotError as error:
        print(f"gntbot: {error}", file=sys.stderr)
        return FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return OK


def _config(args: argparse.Namespace) -> Config:
    config = load_config(args.config) if args.config else Config.default()
    knowledge = config.knowledge
    if getattr(args, "runbooks", None):
        knowledge = replace(knowledge, runbooks=args.runbooks)
    if getattr(args, "index", None):
        knowledge = replace(knowledge, index=args.index)
    problem = check_knowledge_paths(knowledge)
    if problem is not None:
        raise ConfigError(f"{config.source or 'built-in defaults'}: knowledge.{problem}")
    return replace(config, knowledge=knowledge)


def _knowledge(config: Config) -> KnowledgeBase:
    """The knowledge base, brought up to date; if that fails but an index was
    built before, the bot starts with it (and says why) rather than not at all."""
    settings = config.knowledge
    knowledge = KnowledgeBase(settings.runbooks, settings.index, settings.base_url)
    try:
        knowledge.refresh()
    except RunbookIndexError as error:
        if not knowledge.index.exists():
            raise
        log.error("the runbooks could not be re-read, the index built before serves meanwhile: %s", error)
        knowledge.refresh()  # put off after the failure: loads the index as it is
    return knowledge


def _index(args: argparse.Namespace, config: Config) -> int:
    # Through the knowledge base, so that with the semantic extra the section
    # vectors are brought up to date too.
    report = KnowledgeBase(config.knowledge.runbooks, config.knowledge.index).refresh()
    for skipped in report.skipped:
        print(f"skipped: {skipped}", file=sys.stderr)
    print(f"{config.knowledge.index}: {report.summary()}")
    return OK


def _search(args: argparse.Namespace, config: Config) -> int:
    knowledge = _knowledge(config)
    hits = knowledge.search(" ".join(args.query), args.limit)
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
        return OK
    if not hits:
        print("no section answers that.")
    for rank, hit in enumerate(hits, 1):
        print(f"{rank}. {hit.section.breadcrumbs} — {link(hit.section, knowledge.base_url)}  ({hit.score:.2f})")
    return OK


def _ask(args: argparse.Namespace, config: Config) -> int:
    """What a channel would see, first page and ``!more`` included; on a terminal the
    whole answer (nobody can say !more there), or ``--lines N``."""
    application = Application(config, _knowledge(config), act=False)  # may run beside the bot
    asker = Identity("console", config.console_user, account=config.console_user)
    message = Message(" ".join(args.question), asker, room="#channel", addressed=True)
    whole = args.lines is not None or sys.stdout.isatty()
    lines = list(asyncio.run(application.dispatcher.handle(message, page=not whole)).lines)
    if args.lines is not None and len(lines) > args.lines:
        rest = len(lines) - args.lines
        lines = [*lines[: args.lines], f"({rest} more line{'s' if rest > 1 else ''}: --lines {len(lines)} shows all)"]
    print("\n".join(lines))
    return OK


def _console(args: argparse.Namespace, config: Config) -> int:
    application = Application(config, _knowledge(config))

    async def session() -> None:
        upkeep = asyncio.create_task(application.upkeep())
        try:
            await ConsoleTransport(config.console_user).run(application.dispatcher)
        finally:
            upkeep.cancel()
            await asyncio.gather(upkeep, return_exceptions=True)

    try:
        asyncio.run(session())
    finally:
        application.close()
    return OK


def _check_config(args: argparse.Namespace, config: Config) -> int:
    check_runnable(config)
    where = config.source or "built-in defaults"
    networks = [f"irc.{irc.network}" for irc in config.irc] + (["xmpp"] if config.xmpp else [])
    metrics = config.metrics.url + "/metrics" if config.metrics else "off"
    print(f"{where}: OK (runbooks {config.knowledge.runbooks}, index {config.knowledge.index}, "
          f"{len(config.access.directory.people)} people, clusters: {', '.join(c.name for c in config.clusters) or 'none'}, "
          f"chat: {', '.join(networks)}, metrics: {metrics})")
    if config.actions is not None:
        for doubt in second_person_doubts(config.actions, config.access.directory):
            print(f"warning: {doubt}")
    return OK


def _run(args: argparse.Namespace, config: Config) -> int:
    from bot.transports.runner import build_transports, serve

    if not args.verbose:
        logging.getLogger().setLevel(config.bot.log_level)
    transports = build_transports(config)
    application = Application(config, _knowledge(config))

    async def reload() -> None:
        if await application.reload() and not args.verbose:
            logging.getLogger().setLevel(application.config.bot.log_level)

    try:
        asyncio.run(serve(application, transports, reload))
    finally:
        application.close()
    return OK


def _status(args: argparse.Namespace, config: Config) -> int:
    if config.metrics is None:
        raise ConfigError(f"{config.source or 'built-in defaults'}: gntbot status asks the running bot at its "
                          "[metrics] listen address; set one (see config.example.toml)")
    url = config.metrics.url + "/health"
    try:
        with urllib.request.urlopen(url, timeout=STATUS_TIMEOUT) as response:
            body = response.read()
    except urllib.error.HTTPError as error:  # 503: something is down; the body says what
        body = error.read()
    except OSError as error:
        reason = getattr(error, "reason", error)
        print(f"gntbot: no answer from the bot at {url} ({reason}): is gntbot run running with this "
              "configuration?", file=sys.stderr)
        return FAILED
    try:
        report = HealthReport.from_json(json.loads(body))
    except ValueError as error:
        print(f"gntbot: {url} did not answer like gntbot ({error})", file=sys.stderr)
        return FAILED
    print(json.dumps(report.to_json(), indent=1) if args.json else "\n".join(report.lines() or ["nothing to check"]))
    return OK if report.ok else FAILED


def _audit(args: argparse.Namespace, config: Config) -> int:
    if config.actions is None:
        raise ConfigError(f"{config.source or 'built-in defaults'}: there is no [actions] table, so no audit log")
    wanted = audit.Filter(args.person, args.instance, args.since, args.until)
    for entry in audit.read(config.actions.audit_file, wanted):
        print(json.dumps(entry, ensure_ascii=False) if args.json else audit.render(entry))
    return OK


_COMMANDS = {
    "index": _index,
    "search": _search,
    "ask": _ask,
    "console": _console,
    "check-config": _check_config,
    "run": _run,
    "status": _status,
    "audit": _audit,
}
