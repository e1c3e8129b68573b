"""Fixtures for the chat tests: real servers, the bot, and people.

Servers are started once per session (InspIRCd + Anope, ngircd, Prosody),
except in the tests that kill or freeze one, which start their own. Every
process is stopped by its pid in a finalizer, even when a test fails.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.app import Application
from bot.config import SHIPPED_RUNBOOKS, BotSettings, Config, KnowledgeSettings
from bot.core.access import AccessPolicy
from bot.core.dispatch import Dispatcher
from bot.knowledge.base import KnowledgeBase
from bot.transports.irc import IrcTransport
from bot.transports.settings import IrcSettings
from bot.transports.xmpp import XmppTransport

from .common import IRC_ACCOUNTS, OPERATORS, XMPP_ACCOUNTS, irc_settings, xmpp_settings
from .harness import Loop, RunningBot
from .people import IrcPerson, XmppPerson
from .servers import Certs, InspircdAnope, Ngircd, Prosody


def _need(*programs: str) -> None:
    missing = [program for program in programs if shutil.which(program) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian packages; see .ci/run)")


@pytest.fixture(scope="session")
def aloop() -> Iterator[Loop]:
    loop = Loop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def server_dirs() -> Iterator[Callable[[str], Path]]:
    """``make(name)``: a fresh folder the servers' users can reach.

    Not under pytest's base temp dir: pytest sets that back to mode 0700 at
    every start, and other runs start while ours is going on.
    """
    root = Path(tempfile.mkdtemp(prefix="gntbot-chat-"))
    root.chmod(0o711)
    counter = itertools.count()

    def make(name: str) -> Path:
        folder = root / f"{name}-{next(counter)}"
        folder.mkdir()
        return folder

    yield make
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def certs(server_dirs: Callable[[str], Path]) -> Certs:
    return Certs.make(server_dirs("certs"))


def _started(server: Any) -> Any:
    try:
        return server.start()
    except BaseException:
        server.stop()
        raise


@pytest.fixture(scope="session")
def ircd(server_dirs: Callable[[str], Path], certs: Certs) -> Iterator[InspircdAnope]:
    _need("inspircd", "anope", "setpriv")
    server = _started(InspircdAnope(server_dirs("ircd"), certs, IRC_ACCOUNTS))
    yield server
    server.stop()


@pytest.fixture
def own_ircd(server_dirs: Callable[[str], Path], certs: Certs) -> Iterator[InspircdAnope]:
    """A server of the test's own, for tests that kill it."""
    _need("inspircd", "anope", "setpriv")
    server = _started(InspircdAnope(server_dirs("own-ircd"), certs, IRC_ACCOUNTS))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ngircd(server_dirs: Callable[[str], Path], certs: Certs) -> Iterator[Ngircd]:
    _need("ngircd")
    server = _started(Ngircd(server_dirs("ngircd"), certs))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def prosody(server_dirs: Callable[[str], Path], certs: Certs) -> Iterator[Prosody]:
    _need("prosody", "prosodyctl", "setpriv")
    server = _started(Prosody(server_dirs("prosody"), certs, XMPP_ACCOUNTS))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def knowledge(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    base = KnowledgeBase(SHIPPED_RUNBOOKS, tmp_path_factory.mktemp("index") / "index")
    base.refresh()
    return base


@pytest.fixture(scope="session")
def app_config(tmp_path_factory: pytest.TempPathFactory, knowledge: KnowledgeBase) -> Config:
    return Config(
        bot=BotSettings(name="gntbot", page_lines=5),
        knowledge=KnowledgeSettings(runbooks=SHIPPED_RUNBOOKS, index=knowledge.index.index_dir,
                                    reload_seconds=0),
        access=AccessPolicy.of(OPERATORS),
    )


@pytest.fixture
def make_app(app_config: Config, knowledge: KnowledgeBase) -> Callable[..., Application]:
    """A fresh application (its own pager and state) on the shared index."""

    def make(**bot: Any) -> Application:
        return Application(replace(app_config, bot=replace(app_config.bot, **bot)), knowledge)

    return make


@pytest.fixture(scope="session")
def secrets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("secrets")
    (folder / "irc-password").write_text(IRC_ACCOUNTS["gntbot"] + "\n")
    for user in ("gntbot", "bot2"):
        (folder / f"xmpp-{user}").write_text(XMPP_ACCOUNTS[user] + "\n")
    return folder


class Bots:
    """Starts bots in the background loop and stops them all at teardown."""

    def __init__(self, loop: Loop, secrets: Path, certs: Certs, make_app: Callable[..., Application]) -> None:
        self.loop, self.secrets, self.certs, self.make_app = loop, secrets, certs, make_app
        self.running: list[RunningBot] = []

    def irc(self, port: int, app: Application | Dispatcher | None = None, **overrides: Any) -> RunningBot:
        """A bot on IRC serving ``app`` (default: a fresh application)."""
        return self.irc_as(irc_settings(self.secrets, self.certs, port, **overrides), app)

    def irc_as(self, settings: IrcSettings, app: Application | Dispatcher | None = None) -> RunningBot:
        """A bot on IRC with ``settings`` as given (also ones the configuration would refuse)."""
        return self._start(IrcTransport(settings, "gntbot"), app)

    def xmpp(self, port: int, app: Application | Dispatcher | None = None, **overrides: Any) -> RunningBot:
        """A bot on XMPP serving ``app`` (default: a fresh application)."""
        settings = xmpp_settings(self.secrets, self.certs, port, **overrides)
        return self._start(XmppTransport(settings, "gntbot"), app)

    def _start(self, transport: Any, app: Application | Dispatcher | None) -> RunningBot:
        dispatcher = app if isinstance(app, Dispatcher) else (app or self.make_app()).dispatcher
        bot = RunningBot(self.loop, transport, dispatcher)
        self.running.append(bot)
        return bot

    def stop_all(self) -> None:
        errors = []
        for bot in self.running:
            try:
                bot.stop()
            except Exception as error:  # noqa: BLE001 - whatever one raised, keep stopping the others
                errors.append(error)
        if errors:
            raise errors[0]


@pytest.fixture
def bots(aloop: Loop, secrets: Path, certs: Certs, make_app: Callable[..., Application]) -> Iterator[Bots]:
    fleet = Bots(aloop, secrets, certs, make_app)
    yield fleet
    fleet.stop_all()


@pytest.fixture
def irc_people() -> Iterator[Callable[..., IrcPerson]]:
    """``person(port, nick, account=None)``: logged in with SASL when an account is given."""
    people: list[IrcPerson] = []

    def person(port: int, nick: str, account: str | None = None, tls_ca: str | None = None,
               client_cert: str | None = None) -> IrcPerson:
        someone = IrcPerson(port, nick, account, IRC_ACCOUNTS.get(account or ""), tls_ca, client_cert)
        people.append(someone)
        return someone

    yield person
    for someone in people:
        someone.close()


@pytest.fixture
def xmpp_people(aloop: Loop, prosody: Prosody, certs: Certs) -> Iterator[Callable[..., XmppPerson]]:
    """``person(user)``: connected to the session's Prosody as ``user@localhost``."""
    people: list[XmppPerson] = []

    def person(user: str, server: Prosody | None = None) -> XmppPerson:
        someone = XmppPerson(f"{user}@localhost", XMPP_ACCOUNTS[user], (server or prosody).port, str(certs.ca))
        people.append(someone)
        return aloop.run(someone.start())

    yield person
    for someone in people:
        aloop.run(someone.stop())
