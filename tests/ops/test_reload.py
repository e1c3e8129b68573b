"""SIGHUP's work (`Application.reload`): what changes live, what is refused, what waits for a restart."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot.app import Application
from bot.config import load_config
from bot.core.message import Identity, Message

ALICE = Identity("irc", "alice", account="alice")


def write(path: Path, operators: str, runbooks: Path, extra: str = "") -> Path:
    path.write_text(f'[knowledge]\nrunbooks = "{runbooks}"\nindex = "index"\n'
                    f"[access]\noperators = [{operators}]\n{extra}")
    return path


def whoami(app: Application) -> str:
    return asyncio.run(app.dispatcher.handle(Message("!whoami", ALICE))).lines[0]


def test_a_reload_applies_access_and_runbooks_and_refuses_a_broken_file(tmp_path, caplog):
    books = tmp_path / "books"
    books.mkdir()
    (books / "a.md").write_text("# Drbd\n\n## Split brain\n\nDiscard the victim's data.\n")
    config = write(tmp_path / "gntbot.toml", '"irc:alice"', books)
    app = Application(load_config(config))
    assert whoami(app).endswith("; an operator.")
    dispatcher = app.dispatcher

    (books / "b.md").write_text("# Serial\n\n## Serial console\n\nUse the serial console with gnt-instance.\n")
    write(config, "", books, extra='[irc.oftc]\nserver = "irc.oftc.net"\nlogin = "none"\n')
    with caplog.at_level(logging.WARNING):
        assert asyncio.run(app.reload()) is True
    assert app.dispatcher is dispatcher  # the transports keep theirs
    assert whoami(app).endswith("; not an operator.")
    assert app.knowledge.last_refresh is not None and "b.md" in app.knowledge.last_refresh[1].added
    assert "Serial console" in asyncio.run(app.dispatcher.handle(Message("!search serial console", ALICE))).lines[0]
    assert "the change to [irc.*] takes effect at the next restart" in caplog.text

    config.write_text(config.read_text() + "[access]\n")  # declared twice: not TOML
    with caplog.at_level(logging.ERROR):
        assert asyncio.run(app.reload()) is False
    assert "reload refused, the running configuration stays in use" in caplog.text
    assert whoami(app).endswith("; not an operator.")
    assert 'gntbot_config_reloads_total{result="refused"} 1.0' in app.metrics.exposition().decode()
