"""The campaign sections of the configuration: mistakes name the file and the key."""

from __future__ import annotations

import pytest

from bot.config import load_config
from bot.configreader import ConfigError

GOOD_SECRET = "0123456789abcdef0123"


@pytest.mark.parametrize("text, fragment", [
    ("[campaigns]\nrooms = ['#ops']\n", "campaigns.rooms: '#ops' is not realm:room"),
    ("[campaigns.cluster_rooms]\ngnt-x = ['irc:#ops']\n", "campaigns.cluster_rooms.gnt-x: no [clusters.gnt-x]"),
    ("[intake]\nlisten = 'localhost:80'\n[intake.sources.a]\nsecret_env = 'S'\n", "intake.listen: expected ADDRESS:PORT"),
    ("[intake]\nlisten = '127.0.0.1:8089'\n", "intake.sources: add at least one"),
    ("[intake]\nlisten = '127.0.0.1:8089'\n[intake.sources.a]\nsecret_env = 'SHORT'\n", "secret: too short"),
    ("[intake]\nlisten = '127.0.0.1:8089'\n[intake.sources.a]\nsecret = 'inline'\n", "secrets are not read"),
    ("[announce]\nurl = 'ftp://bot'\nsource = 'a'\nsecret_env = 'S'\n", "announce.url: expected http(s)"),
    ("[reboot_log.phrases]\nrebooted = ['x']\n", "reboot_log.phrases.rebooted: not a step"),
    ("[reboot_log.phrases]\nup = ['(unclosed']\n", "is not a regular expression"),
])
def test_campaign_settings_errors_name_the_key(tmp_path, monkeypatch, text, fragment):
    monkeypatch.setenv("S", GOOD_SECRET)
    monkeypatch.setenv("SHORT", "short")
    path = tmp_path / "gntbot.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert fragment in str(caught.value) and str(path) in str(caught.value)


def test_a_full_campaign_configuration_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("S", GOOD_SECRET)
    path = tmp_path / "gntbot.toml"
    path.write_text("[campaigns]\nrooms = ['irc:#ops']\nline_interval = 1\n"
                    "[intake]\nlisten = '[::1]:8089'\n[intake.sources.reboot]\nsecret_env = 'S'\n"
                    "[announce]\nurl = 'http://[::1]:8089'\nsource = 'reboot'\nsecret_env = 'S'\n")
    config = load_config(path)
    assert config.campaigns.rooms == ("irc:#ops",) and config.campaigns.line_interval == 1.0
    assert (config.intake.host, config.intake.port) == ("::1", 8089)
    assert config.intake.source("reboot").secret == GOOD_SECRET.encode()
    assert GOOD_SECRET not in repr(config)


def test_campaigns_share_the_state_the_actions_opened(tmp_path, monkeypatch):
    """One bot, one state: with [actions] and [campaigns] both, the campaigns use the
    application's open store (a second open of the same state would be refused)."""
    import asyncio

    from bot.app import Application

    monkeypatch.setenv("S", GOOD_SECRET)
    path = tmp_path / "gntbot.toml"
    path.write_text(f"""
[bot]
state_dir = "{tmp_path / 'state'}"
[campaigns]
rooms = ["irc:#ops"]
[clusters.lab]
url = "https://127.0.0.1:5080"
read_user = "reader"
read_password_env = "S"
write_user = "operator"
write_password_env = "S"
fingerprint = "sha256:{':'.join(['ab'] * 32)}"
[actions]
enabled = ["migrate"]
requesters = ["irc:alice"]
approvers = ["irc:alice"]
audit_file = "{tmp_path / 'audit' / 'audit.jsonl'}"
""")
    application = Application(load_config(path))
    assert application.store is not None  # opened for the actions

    async def scenario() -> list[str]:
        await application.campaigns.start(application.clusters, application.store)
        try:
            assert application.campaigns.service is not None
            return [row["component"] for row in application.store.query("SELECT component FROM schema_versions")]
        finally:
            await application.campaigns.stop()

    try:
        components = asyncio.run(scenario())
    finally:
        application.close()
    assert "campaigns" in components and len(components) >= 2
