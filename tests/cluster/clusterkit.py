"""Helpers the cluster tests share: certificates, settings for a server, a chat.

`Chat` drives the real `Application` and `Dispatcher`, so tests see what the
channel would see.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import trustme
from fakerapi import FakeRapi

from bot.app import Application
from bot.config import BotSettings, Config
from bot.core.access import AccessPolicy
from bot.core.message import Identity, Message
from bot.ganeti.settings import ClusterSettings, Credentials
from bot.knowledge.base import KnowledgeBase

READER = Credentials("reader", "reader-secret")


@dataclass(frozen=True)
class Tls:
    ca_file: Path
    cert_file: Path
    key_file: Path
    fingerprint: str  # 64 hex digits, as ClusterSettings holds it


def make_tls(directory: Path) -> Tls:
    """A CA of its own and a certificate it issued for 127.0.0.1, in ``directory``."""
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, cert_file, key_file = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    ca.cert_pem.write_to_path(ca_file)
    leaf.cert_chain_pems[0].write_to_path(cert_file)
    leaf.private_key_pem.write_to_path(key_file)
    der = ssl.PEM_cert_to_DER_cert(leaf.cert_chain_pems[0].bytes().decode())
    return Tls(ca_file, cert_file, key_file, hashlib.sha256(der).hexdigest())


def pinned(server: FakeRapi, tls: Tls, name: str = "gnt-fsn", **changes: Any) -> ClusterSettings:
    """Settings for ``server``, trusting ``tls``'s certificate by its fingerprint."""
    settings = ClusterSettings(name, server.url, READER, fingerprint=tls.fingerprint, timeout=3, retries=0)
    return replace(settings, **changes)


class Chat:
    """Says lines to a real Application and returns what it answers."""

    def __init__(self, *clusters: ClusterSettings, page_lines: int = 50,
                 knowledge: KnowledgeBase | None = None) -> None:
        config = replace(Config.default(), bot=BotSettings(page_lines=page_lines), clusters=clusters,
                         access=AccessPolicy.of((), rooms=[("irc", "#ganeti")]))  # the team's channel reads
        self.app = Application(config, knowledge)
        self.sender = Identity("irc", "alice", account="alice")

    def say(self, text: str) -> list[str]:
        return asyncio.run(self.hear(text))

    async def hear(self, text: str) -> list[str]:
        """`say`, for tests that send several lines at once on one event loop."""
        message = Message(text, self.sender, room="#ganeti")
        return list((await self.app.dispatcher.handle(message)).lines)

    def text(self, line: str) -> str:
        return "\n".join(self.say(line))
