"""``[actions]``: fail closed, per-action policies, linked rooms; !help follows them."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest
from actionkit import ALICE, BOB, CAROL, MALLORY, Bot, write_config

from bot.cli import main
from bot.config import load_config
from bot.configreader import ConfigError

CLUSTER = """
[clusters.lab]
url = "https://127.0.0.1:9"
read_user = "reader"
read_password_env = "HOME"
fingerprint = "sha256:E7:0A:4A:D6:93:B0:47:E0:DC:E8:F8:17:F3:89:26:B0:C4:DC:2C:5B:1C:4E:0B:0D:36:1D:B8:07:8E:0A:30:3B"
"""


def config(tmp_path: Path, actions: str):
    return load_config(write_config(tmp_path, CLUSTER, actions))


def test_without_an_actions_table_there_are_no_actions(tmp_path, loop):
    bot = Bot(write_config(tmp_path, CLUSTER, ""), loop)
    try:
        assert bot.app.actions is None and bot.app.store is None  # no state is even opened
        assert bot.say(ALICE, "!migrate inst3") == [
            "refused: actions are not enabled on this bot (no [actions] in its configuration)."]
        assert "!migrate" not in bot.text(ALICE, "!help")
    finally:
        bot.close()


def test_an_actions_table_enables_migrate_and_activate_disks_for_its_requesters(tmp_path, loop):
    bot = Bot(write_config(tmp_path, CLUSTER, '[actions]\nrequesters = ["@ops"]'), loop)
    try:
        listed = bot.text(BOB, "!help")
        assert "!migrate" in listed and "!activate-disks" in listed and "!confirm" in listed
        assert "!failover" not in listed and "!node-migrate" not in listed
        assert bot.say(BOB, "!failover inst4") == ["refused: failover is not enabled on this bot ([actions] enabled)."]
        # verified, but in no list: neither offered nor allowed
        assert "!migrate" not in bot.text(CAROL, "!help")
        assert bot.say(CAROL, "!migrate inst3") == ["refused: irc:carol may not request migrate ([actions] requesters)."]
        assert bot.say(CAROL, "!confirm abcde") == ["refused: irc:carol may neither request nor confirm actions here."]
        # an operator's nick without the account proves nothing
        assert bot.say(MALLORY, "!migrate inst3") == ["refused: you are not logged in to a services account."]
    finally:
        bot.close()


def test_the_actions_metrics_exist_from_the_start_with_bounded_labels(tmp_path, loop):
    bot = Bot(write_config(tmp_path, CLUSTER, '[actions]\nrequesters = ["@ops"]'), loop)
    try:
        for action in ("migrate", "failover", "activate-disks", "node-migrate"):
            for outcome in ("refused", "expired", "cancelled", "not_submitted", "succeeded", "failed", "unknown"):
                assert bot.metric("gntbot_actions_total", action=action, outcome=outcome) == 0
        assert bot.metric("gntbot_actions_pending", action="migrate") == 0
        assert bot.metric("gntbot_action_job_duration_seconds_count", action="activate-disks") == 0
        bot.say(BOB, "!migrate nosuch")  # the cluster cannot even be reached: refused
        assert bot.metric("gntbot_actions_total", action="migrate", outcome="refused") == 1
    finally:
        bot.close()


def test_an_empty_actions_table_admits_nobody(tmp_path, loop):
    bot = Bot(write_config(tmp_path, CLUSTER, "[actions]"), loop)
    try:
        assert bot.say(ALICE, "!migrate inst3") == ["refused: alice may not request migrate ([actions] requesters)."]
    finally:
        bot.close()


def test_each_action_has_its_own_policy_and_defaults_come_from_the_table(tmp_path):
    settings = config(tmp_path, """
[actions]
enabled = ["migrate", "node-migrate"]
requesters = ["@ops"]
window_seconds = 60
linked_rooms = [["irc:#OPS", "xmpp:ops@conference.localhost"]]
[actions.node-migrate]
requesters = ["alice"]
approvers = ["bob"]
confirmation = "second"
window_seconds = 300
""").actions
    assert settings is not None
    migrate, node = settings.policy("migrate"), settings.policy("node-migrate")
    assert settings.policy("activate-disks") is None
    assert (migrate.confirmation, migrate.window) == ("self", 60)
    assert (node.confirmation, node.window, node.needs_second_person) == ("second", 300, True)
    assert node.requesters.people == {"alice"} and node.approvers.people == {"bob"}
    assert migrate.approvers.groups == {"ops"}  # approvers default to the requesters
    # bridged rooms are one room for confirmations, whatever the case of the channel
    assert settings.room("irc", "#ops") == settings.room("xmpp", "ops@conference.localhost")
    assert settings.room("irc", "#other") != settings.room("irc", "#ops")
    assert settings.audit_file == tmp_path / "state" / "audit.jsonl"


@pytest.mark.parametrize(("actions", "complaint"), [
    ('[actions]\nenabled = ["reboot"]', "actions.enabled: no action 'reboot'"),
    ('[actions]\nrequesters = ["@nobody"]', "'@nobody': no such group"),
    ('[actions]\nconfirmation = "anyone"', "actions.confirmation: must be one of self, second"),
    ('[actions]\n[actions.failover]\nconfirmation = "second"', "failover is not in [actions] enabled"),
    ('[actions]\nlinked_rooms = [["irc:#ops"]]', "lists of two or more rooms"),
    ('[actions]\nlinked_rooms = [["#ops", "xmpp:ops@x"]]', "is not realm:room"),
    ('[actions]\nwindow = 30', "actions.window: unknown key"),
])
def test_mistakes_in_actions_name_the_key(tmp_path, actions, complaint):
    with pytest.raises(ConfigError, match=complaint.replace("[", r"\[").replace("]", r"\]")):
        config(tmp_path, actions)


def test_the_console_user_is_the_one_the_bot_runs_as_whatever_the_environment_says(tmp_path, monkeypatch):
    monkeypatch.setenv("LOGNAME", "mallory")
    monkeypatch.setenv("USER", "mallory")
    monkeypatch.setenv("LNAME", "mallory")
    monkeypatch.setenv("USERNAME", "mallory")
    assert config(tmp_path, "").console_user == pwd.getpwuid(os.getuid()).pw_name != "mallory"


def test_check_config_warns_when_a_second_person_may_be_the_same_human_under_two_bare_accounts(tmp_path, capsys):
    path = write_config(tmp_path, CLUSTER, '[actions]\nenabled = ["failover"]\nrequesters = ["@ops", "irc:dave", '
                                           '"xmpp:dave@localhost"]\nconfirmation = "second"')
    assert main(["-c", str(path), "check-config"]) == 0
    warning = capsys.readouterr().out.splitlines()[-1]
    assert warning == ("warning: [actions] failover needs a second person, and admits irc:dave, xmpp:dave@localhost, "
                       "which no [people] entry names: each counts as a person of its own, so one human with two of "
                       "them could confirm their own request; name them under [people]")
