"""Who may do what: people behind accounts, groups, readers, rooms, and what !help shows."""

from __future__ import annotations

import asyncio

import pytest

from bot.commands import help as help_commands
from bot.commands import identity
from bot.core.access import AccessPolicy, Permission, room_key
from bot.core.dispatch import Dispatcher
from bot.core.message import Identity, Message, Reply
from bot.core.paging import Pager
from bot.core.people import Acl, Directory, DirectoryError
from bot.core.registry import Invocation, Registry

DIRECTORY = Directory(
    {"anarcat": ["irc:anarcat", "xmpp:Anarcat@TorProject.org", "console:anarcat"], "weasel": ["irc:weasel"]},
    {"tpa": ["anarcat"]},
)
POLICY = AccessPolicy(
    DIRECTORY,
    operators=Acl.parse(["@tpa"], DIRECTORY),
    readers=Acl.parse(["weasel", "irc-oftc:guest"], DIRECTORY),
    rooms=frozenset({room_key("irc", "#Tor-Admin"), room_key("xmpp", "ops@conference.example.org")}),
)

ANARCAT_IRC = Identity("irc", "anarcat", "anarcat")
ANARCAT_XMPP = Identity("xmpp", "anarcat", "anarcat@torproject.org")
WEASEL = Identity("irc", "weasel", "weasel")
STRANGER = Identity("irc", "drive-by", "drive-by")
NOBODY = Identity("irc", "anarcat_", None, "anarcat_ is not logged in to services")


def build() -> Dispatcher:
    registry = Registry()
    dispatcher = Dispatcher(registry, POLICY, Pager(10))
    help_commands.register(dispatcher, "gntbot")
    identity.register(registry, POLICY)

    @registry.command("instances", summary="cluster data", permission=Permission.READ)
    async def instances(call: Invocation) -> Reply:
        return Reply.of("inst1 running")

    @registry.command("reindex", summary="operators only", permission=Permission.OPERATOR)
    async def reindex(call: Invocation) -> Reply:
        return Reply.of("done")

    return dispatcher


def say(text: str, sender: Identity, room: str | None = None) -> list[str]:
    return list(asyncio.run(build().handle(Message(text, sender, room=room, addressed=room is None))).lines)


def test_one_person_with_several_accounts_is_one_person_whatever_the_case():
    irc, xmpp = (POLICY.directory.person(i.principal) for i in (ANARCAT_IRC, ANARCAT_XMPP))
    assert irc == xmpp and irc is not None and irc.name == "anarcat" and irc.groups == {"tpa"}
    assert POLICY.directory.person("IRC:AnArcat") == irc
    lone = POLICY.directory.person("irc:drive-by")
    assert lone is not None and lone.name == "irc:drive-by" and not lone.groups


@pytest.mark.parametrize("sender", [ANARCAT_IRC, ANARCAT_XMPP])
def test_a_group_makes_each_of_a_persons_accounts_an_operator(sender):
    assert say("!reindex", sender) == ["done"]


def test_operators_are_decided_on_the_verified_account_never_the_nick():
    assert say("!reindex", NOBODY) == ["refused: anarcat_ is not logged in to services."]
    assert say("!reindex", Identity("irc", "anarcat", "  ")) == ["refused: your identity could not be verified."]
    assert say("!reindex", WEASEL) == ["refused: irc:weasel is not an operator of this bot."]


def test_cluster_data_is_read_in_the_configured_rooms_by_anyone_there():
    assert say("!instances", NOBODY, room="#tor-admin") == ["inst1 running"]
    assert say("!instances", Identity("xmpp", "visitor"), room="ops@conference.example.org") == ["inst1 running"]
    assert say("!instances", STRANGER, room="ops@conference.example.org")[0].startswith("refused")  # not on IRC
    assert say("!instances", NOBODY, room="#elsewhere")[0].startswith("refused: cluster data is answered")


def test_in_private_only_readers_operators_and_the_console_read_cluster_data():
    assert say("!instances", WEASEL) == ["inst1 running"]
    assert say("!instances", ANARCAT_XMPP) == ["inst1 running"]
    assert say("!instances", Identity("irc-oftc", "guest", "Guest")) == ["inst1 running"]
    assert say("!instances", Identity("console", "root", "root")) == ["inst1 running"]
    for stranger in (STRANGER, NOBODY, Identity("irc", "guest", "guest")):  # other realm than the reader's
        refusal = say("!instances", stranger)
        assert refusal[0].startswith("refused: cluster data is answered in the team's channels")
        assert "weasel" not in refusal[0] and "readers =" not in refusal[0]  # nothing of the configuration


def test_help_lists_only_what_the_asker_may_run():
    stranger = say("!help", STRANGER)[0]
    assert "!instances" not in stranger and "!reindex" not in stranger and "!whoami" in stranger
    in_room = say("!help", STRANGER, room="#tor-admin")[0]
    assert "!instances" in in_room and "!reindex" not in in_room
    assert "!reindex" in say("!help", ANARCAT_XMPP)[0]


def test_whoami_names_the_person_and_groups_behind_the_account():
    assert say("!whoami", ANARCAT_XMPP) == [
        "you are anarcat, verified as xmpp:anarcat@torproject.org (person anarcat; groups tpa); an operator."]


@pytest.mark.parametrize(("people", "groups", "complaint"), [
    ({"a": ["irc:x"], "b": ["IRC:X"]}, {}, "IRC:X is listed for both a and b"),
    ({"a": ["x"]}, {}, "is not of the form realm:account"),
    ({"a": ["irc:x"]}, {"g": ["b"]}, "'b' is not a person"),
])
def test_people_and_groups_that_do_not_fit_together_are_refused(people, groups, complaint):
    with pytest.raises(DirectoryError, match=complaint):
        Directory(people, groups)


def test_access_lists_refuse_what_they_cannot_name():
    with pytest.raises(DirectoryError, match="no such group"):
        Acl.parse(["@nope"], DIRECTORY)
    with pytest.raises(DirectoryError, match="neither a person"):
        Acl.parse(["bob"], DIRECTORY)
