"""``gntbot announce ...`` and ``gntbot reboot-log ...``: the reboot tooling's ways in.

``announce`` is for scripts and Fabric tasks that say what they do::

    export GNTBOT_CAMPAIGN=$(gntbot announce start --hosts fsn-node-01,fsn-node-02 --reason "kernel 6.1.0-18")
    gntbot announce host fsn-node-01 emptying --count 5
    gntbot announce end --exit-code 0

``reboot-log`` runs the team's script unchanged and announces what its log
says (``gntbot reboot-log -- ./reboot -v -H ...``), or reads such a log on
stdin. Neither ever stops the reboot: delivery problems are warnings, and
what could not be sent waits in the queue (``gntbot announce flush``).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.campaigns import events, logwrapper
from bot.campaigns.client import AnnounceClient, Report
from bot.campaigns.events import Kind, Mode, Step
from bot.campaigns.settings import MIN_SECRET, AnnounceSettings
from bot.campaigns.wrapped import run_wrapped
from bot.config import Config, default_state_dir
from bot.configreader import ConfigError

log = logging.getLogger("gntbot")
CAMPAIGN_ENV = "GNTBOT_CAMPAIGN"


def add_parsers(commands: argparse._SubParsersAction,
                common: argparse.ArgumentParser) -> dict[str, Callable[[argparse.Namespace, Config], int]]:
    """Add ``announce`` and ``reboot-log`` to ``gntbot`` (``common``: its -c and -v); returns their handlers."""
    def sub(parent: argparse._SubParsersAction, name: str, summary: str) -> argparse.ArgumentParser:
        return _common(parent.add_parser(name, parents=[common], help=summary, description=summary))

    announce = commands.add_parser("announce", parents=[common],
                                   help="tell the bot about a reboot campaign (start, host, note, end)")
    steps = announce.add_subparsers(dest="what", required=True, metavar="WHAT")
    start = sub(steps, "start", "start a campaign; prints its id")
    _campaign_options(start)
    start.add_argument("--id", help="the campaign id (default: the date and a random part)")
    host = sub(steps, "host", "a step of one host")
    host.add_argument("host")
    host.add_argument("step", choices=[str(step) for step in Step])
    host.add_argument("--count", type=int, help="instances being moved, stopped or brought back")
    host.add_argument("--instances", default="", help="their names, comma-separated")
    host.add_argument("--needed", choices=("yes", "no"), help="need-check: does the host need the reboot?")
    host.add_argument("--detail", default="", help="why it was skipped or failed, what the check found")
    note = sub(steps, "note", "free text in the campaign's rooms")
    note.add_argument("text", nargs="+")
    note.add_argument("--host", default="", help="the host it is about")
    end = sub(steps, "end", "the campaign is over")
    end.add_argument("--exit-code", type=int, help="the tooling's exit status")
    sub(steps, "flush", "send the events still queued")
    wrapper = sub(commands, "reboot-log", "run the reboot script (or read its log on stdin) and announce what it does")
    _campaign_options(wrapper, hosts_required=False)
    wrapper.add_argument("--id", help="the campaign id (default: the date and a random part)")
    wrapper.add_argument("script", nargs=argparse.REMAINDER, help="-- ./reboot -v -H ... (else: a log on stdin)")
    return {"announce": _announce, "reboot-log": _reboot_log}


def _common(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--campaign", default=os.environ.get(CAMPAIGN_ENV), help=f"campaign id (${CAMPAIGN_ENV})")
    parser.add_argument("--url", help="the bot's intake, e.g. https://gntbot.example.org:8089 ([announce] url)")
    parser.add_argument("--source", help="this sender's name in the bot's [intake.sources] ([announce] source)")
    parser.add_argument("--secret-file", type=Path, help="file holding the source's secret ([announce] secret_file)")
    parser.add_argument("--queue", type=Path, help="folder of undelivered events ([announce] queue)")
    parser.add_argument("--timeout", type=float, help="seconds to wait for the bot (default 3)")
    return parser


def _campaign_options(parser: argparse.ArgumentParser, hosts_required: bool = True) -> None:
    parser.add_argument("--hosts", action="append", required=hosts_required, default=[],
                        help="hosts in the order they will be rebooted, comma-separated (may repeat)")
    parser.add_argument("--reason", help="why (the script's --reason)")
    parser.add_argument("--kind", choices=[str(kind) for kind in Kind])
    parser.add_argument("--mode", choices=[str(mode) for mode in Mode])
    parser.add_argument("--owner", default=getpass.getuser(), help="whose campaign it is (highlighted on stalls)")
    parser.add_argument("--room", action="append", default=[], help="realm:room to announce in (may repeat)")
    parser.add_argument("--delay-up", type=float, help="seconds a host may take to come back")
    parser.add_argument("--delay-hosts", type=float, help="pause between hosts, seconds")


# -- announce ------------------------------------------------------------------------


def _announce(args: argparse.Namespace, config: Config) -> int:
    client = _client(args, config)
    if args.what == "flush":
        return _said(client.flush())
    now = time.time()
    if args.what == "start":
        campaign = args.id or new_campaign_id(now)
        # only what the caller says: the script's own defaults (delay-up 300 s...) are not assumed
        event = _start(args, campaign, now, logwrapper.ScriptOptions(delay_up=None, delay_hosts=None))
        print(campaign)
    else:
        event = _event(args, _campaign(args), now)
    return _said(client.send(event))


def _event(args: argparse.Namespace, campaign: str, now: float) -> events.Event:
    base: dict[str, Any] = {"id": logwrapper.new_id(), "campaign": campaign, "time": now}
    if args.what == "host":
        data = {"type": "host", "host": args.host, "step": args.step, "count": args.count,
                "instances": [name for name in args.instances.split(",") if name] or None,
                "needed": None if args.needed is None else args.needed == "yes", "detail": args.detail or None}
    elif args.what == "note":
        data = {"type": "note", "text": " ".join(args.text), "host": args.host or None}
    else:
        data = {"type": "end", "exit_code": args.exit_code}
    return _parsed({**base, **{key: value for key, value in data.items() if value is not None}})


def _start(args: argparse.Namespace, campaign: str, now: float, script: logwrapper.ScriptOptions) -> events.Event:
    hosts = [name for value in args.hosts for name in value.split(",") if name] or list(script.hosts)
    if not hosts:
        raise ConfigError("name the hosts: --hosts a,b,c (or wrap the script: -- ./reboot -H a,b,c)")
    data = {
        "type": "start", "id": logwrapper.new_id(), "campaign": campaign, "time": now, "hosts": hosts,
        "reason": args.reason or script.reason, "kind": args.kind or str(script.kind),
        "mode": args.mode or str(script.mode), "owner": args.owner, "rooms": args.room or None,
        "delay_up": args.delay_up if args.delay_up is not None else script.delay_up,
        "delay_hosts": args.delay_hosts if args.delay_hosts is not None else script.delay_hosts,
    }
    return _parsed({key: value for key, value in data.items() if value is not None})


def _parsed(data: dict[str, Any]) -> events.Event:
    try:
        return events.parse(data)
    except events.InvalidEvent as error:
        raise ConfigError(f"cannot announce that: {error}") from error


def _campaign(args: argparse.Namespace) -> str:
    if not args.campaign:
        raise ConfigError(f"which campaign? give --campaign ID or set ${CAMPAIGN_ENV} (printed by announce start)")
    return args.campaign


def new_campaign_id(now: float) -> str:
    return f"{datetime.fromtimestamp(now, UTC):%Y-%m-%d}-{os.urandom(3).hex()}"


def _said(report: Report) -> int:
    """Delivery problems are warnings: the reboot goes on whatever the bot does."""
    if report.problem:
        print(f"gntbot: not delivered yet ({report.problem}); {report.waiting} event(s) queued, "
              f"sent with the next event or by: gntbot announce flush", file=sys.stderr)
    if report.rejected:
        print(f"gntbot: the bot refused {report.rejected} event(s) for good (see the queue's rejected/ folder)",
              file=sys.stderr)
    return 0


def _client(args: argparse.Namespace, config: Config) -> AnnounceClient:
    settings = config.announce
    url = args.url or os.environ.get("GNTBOT_ANNOUNCE_URL") or (settings.url if settings else None)
    source = args.source or os.environ.get("GNTBOT_ANNOUNCE_SOURCE") or (settings.source if settings else None)
    secret_file = args.secret_file or _env_path("GNTBOT_ANNOUNCE_SECRET_FILE")
    if not url or not source:
        raise ConfigError("where is the bot? set [announce] url and source in the configuration, "
                          "or give --url and --source")
    if secret_file is not None:
        secret = _read_secret(secret_file)
    elif settings is not None:
        secret = settings.secret
    else:
        raise ConfigError("give --secret-file (or [announce] secret_file): the source's shared secret")
    chosen = replace(settings, url=url.rstrip("/"), source=source, secret=secret) if settings else \
        AnnounceSettings(url.rstrip("/"), source, secret)
    if args.timeout is not None:
        chosen = replace(chosen, timeout=args.timeout)
    queue = args.queue or chosen.queue or default_state_dir() / "announce-queue"
    return AnnounceClient(chosen, queue)


def _env_path(variable: str) -> Path | None:
    value = os.environ.get(variable)
    return Path(value) if value else None


def _read_secret(path: Path) -> bytes:
    try:
        secret = path.read_text().strip()
    except OSError as error:
        raise ConfigError(f"cannot read the secret file {path}: {error.strerror}") from error
    if len(secret) < MIN_SECRET:
        raise ConfigError(f"{path}: the secret is too short (at least {MIN_SECRET} characters)")
    return secret.encode()


# -- reboot-log ------------------------------------------------------------------------


def _reboot_log(args: argparse.Namespace, config: Config) -> int:
    command = args.script[1:] if args.script[:1] == ["--"] else args.script
    script = logwrapper.script_options(command) if command else logwrapper.ScriptOptions()
    client = _client(args, config)
    now = time.time()
    campaign = args.campaign or args.id or new_campaign_id(now)
    start = _start(args, campaign, now, script)
    print(f"gntbot: announcing campaign {campaign}", file=sys.stderr)
    assert isinstance(start, events.CampaignStarted)
    reader = logwrapper.LogReader(campaign, start.hosts, logwrapper.configured(config.reboot_log_phrases))
    return run_wrapped(command, client, start, reader)
