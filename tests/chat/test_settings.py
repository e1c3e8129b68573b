"""The ``[irc.NAME]`` and ``[xmpp]`` configuration: safe defaults, and errors
that name the file and the key. (No servers needed.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from bot.configreader import ConfigError
from bot.transports.runner import build_transports


def config(tmp_path: Path, text: str) -> Path:
    (tmp_path / "irc.pass").write_text("s3cret-irc\n")
    (tmp_path / "xmpp.pass").write_text("s3cret-xmpp\n")
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_a_minimal_network_gets_verified_tls_and_keeps_its_secrets_out_of_sight(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GNTBOT_TEST_KEY", "sesame")
    loaded = load_config(config(tmp_path, """
[irc.oftc]
server = "irc.oftc.net"
password_file = "irc.pass"
channels = ["#tor-admin"]

[irc.oftc.channel."#secret"]
key_env = "GNTBOT_TEST_KEY"
"""))
    (irc,) = loaded.irc
    assert (irc.tls, irc.port, irc.login, irc.sasl_mechanism, irc.chat.nick) == (True, 6697, "auto", "PLAIN", "gntbot")
    assert irc.password == "s3cret-irc"
    assert [(room.name, room.key) for room in irc.chat.rooms] == [("#tor-admin", None), ("#secret", "sesame")]
    assert "s3cret" not in repr(loaded) and "sesame" not in repr(loaded)


def test_channel_key_from_an_unset_variable_is_an_error_naming_it(tmp_path: Path) -> None:
    path = config(tmp_path, """
[irc.oftc]
server = "irc.oftc.net"
password_file = "irc.pass"

[irc.oftc.channel."#secret"]
key_env = "GNTBOT_TEST_UNSET_VARIABLE"
""")
    with pytest.raises(ConfigError, match="GNTBOT_TEST_UNSET_VARIABLE is not set"):
        load_config(path)


@pytest.mark.parametrize(("table", "complaint"), [
    ('server = "irc.example.org"\npassword = "hunter2"', "irc.x.password: secrets are not read from the configuration"),
    ('server = "irc.example.org"', 'irc.x.login: set password_file or password_env (or client_cert), or say login = "none"'),
    ('server = "irc.example.org"\nlogin = "none"\ntls = false\nca_file = "irc.pass"', "irc.x.tls: ca_file and client_cert need tls = true"),
    ('server = "irc.example.org"\nlogin = "none"\nchannels = ["ops"]', "'ops' is not a valid IRC channel name"),
    ('server = "irc.example.org"\nlogin = "none"\nlong_output = "pager"', "long_output: must be one of more, private"),
    ('server = "irc.example.org"\nlogin = "none"\nping_timout = 60', "irc.x.ping_timout: unknown key"),
    ('server = "irc.example.org"\nsasl_mechanism = "EXTERNAL"\npassword_file = "irc.pass"', "EXTERNAL needs client_cert"),
])
def test_irc_mistakes_are_refused_with_the_key_named(tmp_path: Path, table: str, complaint: str) -> None:
    assert complaint in refusal(tmp_path, f"[irc.x]\n{table}\n")


def refusal(tmp_path: Path, text: str) -> str:
    """The error loading ``text`` gives; it names the file."""
    with pytest.raises(ConfigError, match=r"config\.toml: ") as error:
        load_config(config(tmp_path, text))
    return str(error.value)


def test_plaintext_irc_only_when_asked_for(tmp_path: Path) -> None:
    (irc,) = load_config(config(tmp_path, '[irc.lan]\nserver = "10.0.0.1"\ntls = false\nlogin = "none"\n')).irc
    assert (irc.tls, irc.port) == (False, 6667)


def test_xmpp_defaults_to_starttls_and_reads_room_passwords_from_files(tmp_path: Path) -> None:
    xmpp = load_config(config(tmp_path, """
[xmpp]
jid = "gntbot@example.org"
password_file = "xmpp.pass"
rooms = ["ops@conference.example.org"]

[xmpp.room."locked@conference.example.org"]
password_file = "irc.pass"
""")).xmpp
    assert xmpp is not None
    assert (xmpp.tls, xmpp.direct_tls, xmpp.password) == (True, False, "s3cret-xmpp")
    assert {room.name: room.key for room in xmpp.chat.rooms} == {
        "ops@conference.example.org": None, "locked@conference.example.org": "s3cret-irc"}


def test_two_networks_must_not_share_their_accounts(tmp_path: Path) -> None:
    two = """
[irc.oftc]
server = "irc.oftc.net"
password_file = "irc.pass"
[irc.libera]
server = "irc.libera.chat"
password_file = "irc.pass"
"""
    with pytest.raises(ConfigError, match='set a distinct realm in each'):
        build_transports(load_config(config(tmp_path, two)))
    fixed = two.replace('server = "irc.libera.chat"', 'server = "irc.libera.chat"\nrealm = "libera"')
    assert len(build_transports(load_config(config(tmp_path, fixed)))) == 2


def test_run_without_any_chat_network_says_what_to_add(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no chat transport is configured: add \[irc.NAME\] or \[xmpp\]"):
        build_transports(load_config(config(tmp_path, "[bot]\nname = \"gntbot\"\n")))


def test_xmpp_addresses_are_written_as_the_server_writes_them(tmp_path: Path) -> None:
    xmpp = load_config(config(tmp_path, """
[xmpp]
jid = "GntBot@Example.ORG/Bot"
password_file = "xmpp.pass"
rooms = ["Tor-Admin@Conference.Example.org", "tor-admin@conference.example.org"]
""")).xmpp
    assert xmpp is not None
    assert xmpp.jid == "gntbot@example.org/Bot"
    assert [room.name for room in xmpp.chat.rooms] == ["tor-admin@conference.example.org"]
    assert xmpp.chat.room("tor-admin@conference.example.org") is not None


@pytest.mark.parametrize(("rooms", "complaint"), [
    ('["ops"]', "'ops' is not a bare JID (user@domain)"),
    ('["ops@conference.example.org/nick"]', "is not a bare JID"),
    ('["a b@conference.example.org"]', "'a b@conference.example.org' is not a JID"),
])
def test_a_room_that_is_no_jid_is_refused(tmp_path: Path, rooms: str, complaint: str) -> None:
    text = f'[xmpp]\njid = "gntbot@example.org"\npassword_file = "xmpp.pass"\nrooms = {rooms}\n'
    assert complaint in refusal(tmp_path, text)
