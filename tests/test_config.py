"""Configuration errors name the file and the key; secrets never come from the TOML."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import SHIPPED_RUNBOOKS, Config, load_config
from bot.configreader import ConfigError, Table


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gntbot.toml"
    path.write_text(text)
    return path


def test_defaults_use_the_shipped_runbooks():
    config = Config.default()
    assert config.knowledge.runbooks == SHIPPED_RUNBOOKS
    assert config.bot.prefix == "!"


def test_a_valid_file_is_read_with_paths_relative_to_it(tmp_path):
    (tmp_path / "books").mkdir()
    config = load_config(write(tmp_path, """
[bot]
name = "opsbot"
prefix = "?"
[knowledge]
runbooks = "books"
index = "idx"
base_url = "https://gitlab.example.org/team/-/wikis/"
[access]
operators = ["irc:alice", "xmpp:alice@example.org"]
"""))
    assert config.bot.name == "opsbot" and config.bot.prefix == "?"
    assert config.knowledge.runbooks == tmp_path / "books"
    assert config.knowledge.index == tmp_path / "idx"
    assert config.access.operators.accounts == {"irc:alice", "xmpp:alice@example.org"}


@pytest.mark.parametrize("text, fragment", [
    ("[bot]\nprefx = '!'\n", "bot.prefx: unknown key"),
    ("[bot]\npage_lines = 'many'\n", "bot.page_lines: expected an integer"),
    ("[bot]\npage_lines = 0\n", "bot.page_lines: 0 is out of range"),
    ("[knowledge]\nbase_url = 'ftp://x'\n", "knowledge.base_url: must start with https://"),
    ("[knowledge]\nrunbooks = 'nowhere'\n", "knowledge.runbooks:"),
    ("[access]\noperators = ['alice']\n", "access.operators: 'alice' is neither a person of [people], an @group,"),
    ("[access]\nreaders = ['@ops']\n", "access.readers: '@ops': no such group"),
    ("[people]\nalice = ['irc:alice']\nbob = ['IRC:Alice']\n", "IRC:Alice is listed for both alice and bob"),
    ("[people]\nalice = ['alice']\n", "alice: 'alice' is not of the form realm:account"),
    ("[people]\nalice = 'irc:alice'\n", "people.alice: expected a list"),
    ("[groups]\nops = ['carol']\n", "group ops: 'carol' is not a person of [people]"),
    ("[irc.oftc]\nserver = 'irc.oftc.net'\nlogin = 'none'\nrealm = 'xmpp'\n", "irc.oftc.realm: 'xmpp' is reserved"),
    ("[bot\n", "not valid TOML"),
])
def test_errors_name_the_file_and_the_key(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path.resolve()) in str(caught.value) or str(path) in str(caught.value)
    assert fragment in str(caught.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the configuration"):
        load_config(tmp_path / "absent.toml")


def test_secrets_come_from_a_file_or_the_environment(tmp_path, monkeypatch):
    secret_file = tmp_path / "pw"
    secret_file.write_text("s3cret\n")
    source = tmp_path / "x.toml"
    assert Table({"password_file": "pw"}, "irc", source).secret("password") == "s3cret"
    monkeypatch.setenv("GNTBOT_TEST_PW", "from-env")
    assert Table({"password_env": "GNTBOT_TEST_PW"}, "irc", source).secret("password") == "from-env"
    with pytest.raises(ConfigError, match="secrets are not read from the configuration"):
        Table({"password": "inline"}, "irc", source).secret("password")
    with pytest.raises(ConfigError, match="GNTBOT_UNSET_VARIABLE is not set"):
        Table({"password_env": "GNTBOT_UNSET_VARIABLE"}, "irc", source).secret("password")
    assert Table({}, "irc", source).secret("password", required=False) is None


CLUSTER = """
[clusters.gnt-fsn]
url = "https://fsn.example.org:5080"
read_user = "gntbot-read"
fingerprint = "sha256:{digest}"
""".format(digest=":".join(["AB"] * 32))


def problem(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "gntbot.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value)


def test_a_configuration_that_is_not_utf8_is_a_clear_error(tmp_path):
    text = problem(tmp_path, b"[bot]\nname = 'gntbot'\n# caf\xe9\n")
    assert "line 3: not UTF-8 text" in text and "save the file as UTF-8" in text


def test_a_secret_file_that_is_not_utf8_or_empty_is_named(tmp_path):
    (tmp_path / "latin1").write_bytes(b"p\xe4ssword\n")
    text = problem(tmp_path, CLUSTER + 'read_password_file = "latin1"\n')
    assert f"clusters.gnt-fsn.read_password_file: {tmp_path / 'latin1'} is not UTF-8 text" in text
    (tmp_path / "empty").write_text("\n")
    text = problem(tmp_path, CLUSTER + 'read_password_file = "empty"\n')
    assert f"clusters.gnt-fsn.read_password_file: {tmp_path / 'empty'} is empty" in text


def test_both_a_secret_file_and_variable_say_so(tmp_path, monkeypatch):
    monkeypatch.setenv("GNTBOT_TEST_PW", "secret")
    (tmp_path / "pw").write_text("secret\n")
    text = problem(tmp_path, CLUSTER + 'read_password_file = "pw"\nread_password_env = "GNTBOT_TEST_PW"\n')
    assert "set only one of read_password_file and read_password_env" in text
    assert "unknown key" not in text


def test_an_index_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "index").write_text("not a folder")
    text = problem(tmp_path, "[knowledge]\nindex = 'index'\n")
    assert f"knowledge.index: {tmp_path / 'index'} is a file" in text


def test_two_irc_networks_sharing_a_realm_are_refused_when_the_file_is_read(tmp_path):
    networks = "".join(f"[irc.{name}]\nserver = '{name}.example.org'\nlogin = 'none'\n" for name in ("oftc", "libera"))
    text = problem(tmp_path, networks)
    assert 'irc.libera.realm: [irc.oftc] and [irc.libera] both give principals as "irc:account"' in text
    assert load_config(write(tmp_path, networks + "realm = 'irc-libera'\n")).irc[1].realm == "irc-libera"


def test_every_problem_of_a_file_is_reported_at_once(tmp_path):
    text = problem(tmp_path, """
[bot]
page_lines = 0
prefx = "!"
[knowledge]
reload_seconds = "often"
[irc.oftc]
server = 6697
login = "none"
[clusters.gnt-fsn]
url = "http://fsn.example.org"
""")
    assert "8 problems:" in text.splitlines()[0]
    for fragment in ("bot.page_lines: 0 is out of range", "bot.prefx: unknown key",
                     "knowledge.reload_seconds: expected an integer or a number", "irc.oftc.server: expected a string",
                     "clusters.gnt-fsn.url: must start with https://", "clusters.gnt-fsn.read_user: missing",
                     "clusters.gnt-fsn.read_password: missing", "clusters.gnt-fsn.fingerprint: set exactly one"):
        assert fragment in text, text


IRC = "[irc.oftc]\nserver = 'irc.oftc.net'\n"
INJECTED = "\r\nJOIN #injected"


@pytest.mark.parametrize("table, key", [
    (IRC + "login = 'none'\nchannels = ['#ops']\n[irc.oftc.channel.'#ops']\nkey_file = 'secret'\n",
     "irc.oftc.channel.#ops.key_file"),
    (IRC + "login = 'nickserv'\npassword_file = 'secret'\n", "irc.oftc.password_file"),
    (IRC + "login = 'nickserv'\npassword_env = 'GNTBOT_TEST_SECRET'\n", "irc.oftc.password_env"),
    ("[xmpp]\njid = 'bot@example.org'\npassword_file = 'secret'\n", "xmpp.password_file"),
    ("[xmpp]\njid = 'bot@example.org'\npassword_env = 'GNTBOT_TEST_SECRET'\n", "xmpp.password_env"),
    (("[xmpp]\njid = 'bot@example.org'\npassword_file = 'pw'\n[xmpp.room.'ops@conference.example.org']\n"
     "password_file = 'secret'\n"), "xmpp.room.ops@conference.example.org.password_file"),
    (CLUSTER + "read_password_file = 'secret'\n", "clusters.gnt-fsn.read_password_file"),
], ids=["channel-key", "nickserv-file", "nickserv-env", "xmpp-file", "xmpp-env", "room-password", "rapi"])
def test_a_secret_with_a_line_break_inside_is_refused_and_never_shown(tmp_path, monkeypatch, table, key):
    (tmp_path / "secret").write_text(f"hunter2{INJECTED}\n")
    (tmp_path / "pw").write_text("fine\n")
    monkeypatch.setenv("GNTBOT_TEST_SECRET", f"hunter2{INJECTED}")
    text = problem(tmp_path, table)
    assert f"{key}: " in text and "control character" in text, text
    assert "hunter2" not in text and "injected" not in text


@pytest.mark.parametrize("line, key", [
    ('realname = "r\\r\\nJOIN #injected"', "realname"),
    ('nick = "bot\\u0000"', "nick"),
    ('account = "gntbot\\nJOIN #injected"', "account"),
    ('username = "gnt\\rbot"', "username"),
    ('nickserv = "NickServ\\r\\nJOIN #injected"', "nickserv"),
    ('channels = ["#ops\\u0000JOIN #injected"]', "channels"),
    ('ignore = ["eve\\nJOIN #injected"]', "ignore"),
])
def test_a_name_that_reaches_the_irc_wire_holds_no_control_character(tmp_path, line, key):
    text = problem(tmp_path, IRC + "login = 'none'\n" + line + "\n")
    assert f"irc.oftc.{key}: " in text and "control character" in text, text
    assert "injected" not in text.lower()


def test_xmpp_names_and_resources_hold_no_control_character(tmp_path):
    (tmp_path / "pw").write_text("fine\n")
    xmpp = "[xmpp]\npassword_file = 'pw'\n"
    text = problem(tmp_path, xmpp + 'jid = "bot@example.org/res\\u0000x"\n')
    assert "xmpp.jid: " in text and "control character" in text, text
    text = problem(tmp_path, xmpp + 'jid = "bot@example.org"\nnick = "bot\\u001b[2J"\n')
    assert "xmpp.nick: " in text and "control character" in text, text


def test_a_table_named_with_a_control_character_is_refused(tmp_path):
    text = problem(tmp_path, IRC + "login = 'none'\n[irc.oftc.channel.\"#ops\\u0000x\"]\n")
    assert "irc.oftc.channel.'#ops\\x00x': this name holds a line break or another control character" in text


def test_a_name_refused_for_a_control_character_is_reported_once_and_escaped(tmp_path):
    text = problem(tmp_path, IRC + "login = 'none'\n"
                   '[people]\n"al\\r\\nice" = ["irc:alice"]\n[groups]\n"o\\nps" = []\n'
                   '[reboot_log.phrases]\n"sta\\nrt" = ["begin"]\n')
    lines = text.splitlines()
    assert "\r" not in text and lines[0].endswith("3 problems:"), text  # one line each, and no raw CR
    for name in ("people.'al\\r\\nice'", "groups.'o\\nps'", "reboot_log.phrases.'sta\\nrt'"):
        assert sum(line.startswith(f"  {name}: this name holds") for line in lines) == 1, text
    assert "unknown key" not in text


def test_a_bad_key_of_a_cluster_does_not_hide_the_keys_after_it(tmp_path):
    text = problem(tmp_path, CLUSTER.replace('"https://fsn.example.org:5080"', '"https://fsn.example.org/\\r\\nX: y"')
                   .replace('read_user = "gntbot-read"', 'read_user = "re\\nader"'))
    assert "clusters.gnt-fsn.url: holds a line break" in text, text
    assert "clusters.gnt-fsn.read_user: holds a line break" in text, text


def test_every_bad_channel_is_named_and_the_keys_after_them_are_still_checked(tmp_path):
    text = problem(tmp_path, IRC + "login = 'none'\nchannels = ['ops', '#fine', 'dev']\nrealnme = 'typo'\n"
                   "[irc.oftc.channel.'nohash']\nkey_file = 'absent'\n")
    assert "irc.oftc.channels: 'ops' is not a valid IRC channel name; 'dev' is not" in text, text
    assert "irc.oftc.channel.nohash: 'nohash' is not a valid IRC channel name" in text, text
    assert "irc.oftc.channel.nohash.key_file: cannot read" in text, text
    assert "irc.oftc.realnme: unknown key" in text, text


def test_unicode_line_breaks_and_c1_controls_are_control_characters_too(tmp_path):
    for value in ("x\\u0085y", "x\\u2028y", "x\\u009by"):
        text = problem(tmp_path, IRC + f"login = 'none'\nrealname = \"{value}\"\n")
        assert "irc.oftc.realname: holds a line break" in text, text


def test_a_secret_files_trailing_newline_is_still_fine(tmp_path):
    (tmp_path / "key").write_text("k3y\r\n")
    config = load_config(write(tmp_path, IRC + "login = 'none'\nchannels = ['#ops']\n"
                                         "[irc.oftc.channel.'#ops']\nkey_file = 'key'\n"))
    assert config.irc[0].chat.rooms[0].key == "k3y"
