"""The campaign's events, state and ETA: what the channel's numbers are made of."""

from __future__ import annotations

import pytest

from bot.campaigns import events, progress
from bot.campaigns.state import CampaignConflict, Phase, apply
from bot.campaigns.store import CampaignStore
from bot.state.store import Store

from .kit import end, host_cycle, start, step, wire

T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC


def run(*evs: events.Event):
    campaign = None
    for event in evs:
        campaign = apply(campaign, event, "reboot-script")
    return campaign


@pytest.mark.parametrize("data, fragment", [
    ([], "an event is a JSON object"),
    (wire("explode"), "type: must be one of"),
    (wire("host", host="fsn-node-01", step="rebooted"), "step: must be one of"),
    (wire("host", host="fsn-node-01/../x", step="down"), "host: missing or malformed"),
    (wire("note", text="hi\r\nPRIVMSG #other :spam"), "text: control characters"),
    (wire("note", text="x" * 401), "text: expected text of 1 to 400"),
    (wire("start", reason="r", hosts=["a1", "a1"], owner="anarcat"), "hosts: a host is listed twice"),
    (wire("start", reason="r", hosts=["a1"], owner="anarcat", rooms=["#ops"]), "rooms: expected up to"),
    (wire("end", exit_code=True), "exit_code: expected a whole number"),
    (wire("end", extra=1), "extra: unknown field"),
    ({**wire("end"), "time": "yesterday"}, "time: expected a number"),
])
def test_malformed_events_are_refused_naming_the_field(data, fragment):
    with pytest.raises(events.InvalidEvent, match=fragment):
        events.parse(data)


def test_an_event_survives_the_wire_unchanged():
    event = step("fsn-node-03", "need-check", T0, needed=False, detail="kernel up to date")
    assert events.parse(events.to_wire(event)) == event


def test_hosts_only_move_forward_and_a_second_source_adds_what_it_knows():
    campaign = run(start(["fsn-node-01", "fsn-node-02"], T0), step("fsn-node-01", "emptying", T0 + 10, count=5),
                   step("fsn-node-01", "down", T0 + 60), step("fsn-node-01", "empty", T0 + 61, count=4))
    host = campaign.host("fsn-node-01")
    assert host.phase is Phase.DOWN and host.moved == 4 and host.to_move == 5 and host.down_since == T0 + 60
    done = run(start(["h1"], T0), step("h1", "done", T0 + 5), step("h1", "failed", T0 + 6, detail="late"))
    assert done.host("h1").phase is Phase.DONE and done.host("h1").detail == ""


def test_events_that_do_not_fit_the_campaign_are_conflicts():
    campaign = run(start(["h1"], T0))
    with pytest.raises(CampaignConflict, match="was started already"):
        apply(campaign, start(["h1"], T0), "x")
    with pytest.raises(CampaignConflict, match="host h9 is not in campaign"):
        apply(campaign, step("h9", "down", T0), "x")
    with pytest.raises(CampaignConflict, match="no campaign other-1"):
        apply(None, step("h1", "down", T0, campaign="other-1"), "x")
    with pytest.raises(CampaignConflict, match="has ended"):
        apply(apply(campaign, end(T0 + 1), "x"), step("h1", "down", T0 + 2), "x")


def test_outcome_counts_and_pass_or_fail():
    ok = run(start(["h1", "h2"], T0), step("h1", "done", T0 + 1), step("h2", "skipped", T0 + 2), end(T0 + 3, exit_code=0))
    assert ok.passed and ok.untouched == 0
    aborted = run(start(["h1", "h2", "h3"], T0), step("h1", "done", T0 + 1), step("h2", "down", T0 + 2),
                  end(T0 + 3, exit_code=1))
    assert not aborted.passed and aborted.untouched == 2 and aborted.count(Phase.DONE) == 1


def test_eta_is_the_median_cycle_pauses_included_and_honest_without_data():
    hosts = [f"fsn-node-0{n}" for n in range(1, 5)]
    campaign = run(start(hosts, T0))
    assert progress.eta_text(progress.estimate(campaign, T0 + 60), T0 + 60) == "no ETA yet (no host done)"
    assert progress.estimate(campaign, T0, history=[600.0]).basis == "past campaigns"
    # host 1 takes 15 min, then a 2 min pause, host 2 takes 13 min (cycle 15), host 3 hangs 60 min (cycle 62)
    evs = [*host_cycle(hosts[0], T0, 15), *host_cycle(hosts[1], T0 + 17 * 60, 13), *host_cycle(hosts[2], T0 + 32 * 60, 60)]
    campaign = run(start(hosts, T0), *evs)
    assert progress.cycles(campaign) == [900.0, 900.0, 3720.0]
    now = T0 + 92 * 60  # host 4 not started yet: one more median cycle to go
    found = progress.estimate(campaign, now)
    assert found.per_host == 900.0 and found.eta == now + 900
    assert progress.eta_text(found, now) == "ETA 09:47 UTC (≈15 min/host)"
    assert progress.percent(campaign) == 75


def test_the_store_keeps_campaigns_events_and_primaries_across_a_restart(tmp_path):
    with Store.open(tmp_path) as store:
        campaigns = CampaignStore(store)
        before = None
        for event in (start(["h1", "h2"], T0), step("h1", "emptying", T0 + 1, instances=["web1", "db1"])):
            after = apply(before, event, "reboot-script")
            campaigns.commit("reboot-script", event, T0 + 5, before, after)
            before = after
        campaigns.record_primaries("ovs-2026-12", "h1", "gnt-fsn", ["web1", "db1"], T0 + 2)
        campaigns.mark_said("ovs-2026-12", "host:h1", "h1: migrating 2 instances off", T0 + 3)
        seen_id = event.id
    with Store.open(tmp_path) as store:  # a restart
        campaigns = CampaignStore(store)
        [again] = campaigns.running()
        assert again == before
        assert campaigns.seen("reboot-script", seen_id) and not campaigns.seen("other", seen_id)
        assert campaigns.primaries("ovs-2026-12", "h1") == ("db1", "web1")
        assert campaigns.said("ovs-2026-12") == {"host:h1": "h1: migrating 2 instances off"}


def test_a_state_from_before_the_bot_drove_reboots_keeps_what_it_remembered(tmp_path):
    from bot.campaigns.store import SCHEMA

    with Store.open(tmp_path) as store:  # as the previous gntbot left it
        store.migrate("campaigns", SCHEMA[:1])
        with store.transaction() as db:
            db.execute("INSERT INTO campaign_primaries VALUES ('ovs-7', 'h1', 'web1', 'gnt-fsn', 1.0)")
    with Store.open(tmp_path) as store:
        campaigns = CampaignStore(store)
        assert campaigns.remembered("ovs-7", "h1") == (("web1", "gnt-fsn", None),)  # where it went: not known
        campaigns.record_primaries("ovs-7", "h1", "gnt-fsn", ["web1", "db1"], 2.0)
        campaigns.record_moves("ovs-7", "h1", {"db1": "h2"})
        assert campaigns.remembered("ovs-7", "h1") == (("db1", "gnt-fsn", "h2"), ("web1", "gnt-fsn", None))
