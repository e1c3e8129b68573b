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
