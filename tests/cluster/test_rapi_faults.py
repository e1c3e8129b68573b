"""When a cluster misbehaves, the person in the channel reads why, and the bot carries on.

Every fault is real: a local HTTPS server that is slow, fails, presents
another certificate, refuses the credentials, or is not there at all.
"""

from __future__ import annotations

import time
from pathlib import Path

import labctl
import pytest
import requests
import trustme
from clusterkit import READER, Chat, pinned
from fakerapi import Answer, FakeRapi, fixture, recorded

from bot.ganeti.cluster import Cluster
from bot.ganeti.errors import (
    RapiAuthError,
    RapiForbidden,
    RapiNotFound,
    RapiServerError,
    RapiTimeout,
    RapiTlsError,
    RapiUnreachable,
)
from bot.ganeti.rapi import RapiClient, build_session
from bot.ganeti.settings import ClusterSettings, Credentials


@pytest.fixture
def impostor(other_tls):
    """A server with a certificate of another CA, answering like the real one."""
    server = FakeRapi(other_tls.cert_file, other_tls.key_file, recorded()).start()
    yield server
    server.stop()


def test_a_slow_master_times_out_once_without_retrying_the_read(fake_rapi, tls):
    fake_rapi.answer("/2/info", Answer(200, fixture("info.json"), delay=2))
    client = RapiClient(pinned(fake_rapi, tls, timeout=0.3, retries=2))
    started = time.monotonic()
    with pytest.raises(RapiTimeout, match=r"^gnt-fsn: RAPI accepted the connection but gave no answer within 0\.3s "
                                          r"\(master busy or stuck\?\)$"):
        client.info()
    assert time.monotonic() - started < 1.5
    assert len(fake_rapi.requests_for("/2/info")) == 1


def test_a_server_error_is_shown_with_ganetis_own_words_unescaped(fake_rapi, tls):
    body = b'{"code": 500, "message": "Can&#x27;t reach &quot;luxid&quot;", "explain": "Internal Server Error"}'
    fake_rapi.answer("/2/info", Answer(500, body))
    with pytest.raises(RapiServerError) as raised:
        RapiClient(pinned(fake_rapi, tls, retries=2)).info()
    assert str(raised.value) == "gnt-fsn: RAPI failed (500: Can't reach \"luxid\")"
    assert len(fake_rapi.requests_for("/2/info")) == 1  # a 500 is not a passing hiccup


def test_a_temporary_outage_is_retried_with_backoff_and_hidden(fake_rapi, tls):
    unavailable = Answer(503, b'{"code": 503, "message": "Job queue is full, needs archiving"}')
    fake_rapi.answer("/2/info", unavailable, unavailable, Answer(200, fixture("info.json")))
    info = RapiClient(pinned(fake_rapi, tls, retries=2)).info()
    assert info["name"] == "cluster.ganeti.test"
    assert len(fake_rapi.requests_for("/2/info")) == 3


def test_a_master_failover_that_outlasts_the_retries_is_named(fake_rapi, tls):
    fake_rapi.answer("/2/info", Answer(502, b'{"code": 502, "message": "Can\'t connect to master daemon"}'))
    with pytest.raises(RapiServerError, match="cannot reach the master daemon .* a master failover may be under way"):
        RapiClient(pinned(fake_rapi, tls, retries=1)).info()
    assert len(fake_rapi.requests_for("/2/info")) == 2


def test_a_different_certificate_gets_no_request_and_no_password(impostor, tls):
    with pytest.raises(RapiTlsError) as raised:
        RapiClient(pinned(impostor, tls, retries=2)).info()
    assert str(raised.value).endswith(
        "does not match the pinned fingerprint, so nothing was sent. "
        "If rapi.pem was renewed on purpose, put the new fingerprint in [clusters.gnt-fsn].")
    assert impostor.seen == []


def test_the_environment_cannot_replace_the_pin_or_add_a_proxy(impostor, fake_rapi, tls, other_tls, monkeypatch):
    # a CA bundle that trusts the impostor, and a proxy that does not exist
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other_tls.ca_file))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(other_tls.ca_file))
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    with pytest.raises(RapiTlsError):
        RapiClient(pinned(impostor, tls)).info()
    assert RapiClient(pinned(fake_rapi, tls)).info()["master"] == "node1.ganeti.test"
    # with a CA file, requests would take REQUESTS_CA_BUNDLE instead if trust_env were on
    with_ca = ClusterSettings("gnt-chi", impostor.url, READER, ca_file=tls.ca_file, retries=0)
    with pytest.raises(RapiTlsError):
        RapiClient(with_ca).info()


def test_a_ca_bundle_must_have_issued_the_certificate(fake_rapi, impostor, tls):
    with_ca = ClusterSettings("gnt-chi", fake_rapi.url, READER, ca_file=tls.ca_file, retries=0)
    assert RapiClient(with_ca).info()["name"] == "cluster.ganeti.test"
    other = ClusterSettings("gnt-chi", impostor.url, READER, ca_file=tls.ca_file, retries=0)
    with pytest.raises(RapiTlsError, match=r"^gnt-chi: TLS verification of its RAPI failed "
                                           r"\(unable to get local issuer certificate\), so nothing was sent\.$"):
        RapiClient(other).info()
    assert impostor.seen == []


def test_wrong_credentials_say_what_to_check(fake_rapi, tls):
    settings = pinned(fake_rapi, tls, read=Credentials("reader", "not-the-password"))
    with pytest.raises(RapiAuthError) as raised:
        RapiClient(settings).info()
    assert str(raised.value) == ("gnt-fsn: RAPI refused the bot's credentials (401): check read_user and its "
                                 "password in [clusters.gnt-fsn] against the RAPI users file on the master")
    assert "not-the-password" not in repr(settings)


def test_a_user_without_the_read_option_is_told_what_to_add(fake_rapi, tls):
    fake_rapi.answer("/2/query/instance", Answer(403, fixture("error-403-job-wait.json")))
    with pytest.raises(RapiForbidden, match=r"^gnt-fsn: the bot's RAPI user lacks the right for this \(403\): "
                                            r"give it the 'read' option in the RAPI users file on the master$"):
        Cluster(pinned(fake_rapi, tls)).instances()


def test_an_unknown_instance_is_a_plain_404(fake_rapi, tls):
    with pytest.raises(RapiNotFound, match=r"^gnt-fsn: there is no instance nope\.ganeti\.test$"):
        RapiClient(pinned(fake_rapi, tls)).instance("nope.ganeti.test")


def test_nothing_listening_is_a_refused_connection(tls):
    settings = ClusterSettings("gnt-fsn", f"https://127.0.0.1:{labctl.free_port()}", READER,
                               fingerprint=tls.fingerprint, retries=2)
    with pytest.raises(RapiUnreachable, match=r"refused the connection \(is ganeti-rapi running on the master\?\)"):
        RapiClient(settings).info()


def test_the_bot_answers_in_the_channel_and_carries_on(fake_rapi, tls):
    fake_rapi.answer("/2/query/instance", Answer(200, fixture("info.json"), delay=2))
    chat = Chat(pinned(fake_rapi, tls, timeout=0.3))
    (line,) = chat.say("!instances")
    assert line.startswith("gnt-fsn: ") and "gave no answer within 0.3s" in line
    assert chat.say("!nodes")[0].startswith("gnt-fsn: 3 nodes, master node1")


def test_one_cluster_down_does_not_silence_the_others(fake_rapi, tls):
    gone = ClusterSettings("gnt-chi", f"https://127.0.0.1:{labctl.free_port()}", READER,
                           fingerprint=tls.fingerprint, retries=0)
    lines = Chat(pinned(fake_rapi, tls), gone).say("!instances")
    assert lines[0].startswith("gnt-fsn: 5 instances")
    assert lines[-1] == "gnt-chi: RAPI refused the connection (is ganeti-rapi running on the master?)"


def test_the_pin_works_without_switching_verification_off(fake_rapi, impostor, tls, other_tls):
    session = build_session(pinned(fake_rapi, tls))
    assert session.verify is True and session.trust_env is False
    # whatever a request says about verify, the pin alone decides
    for verify in (True, str(other_tls.ca_file)):
        assert session.get(f"{fake_rapi.url}/2/info", verify=verify, timeout=3).status_code == 200
        with pytest.raises(requests.exceptions.SSLError, match="[Ff]ingerprints did not match"):
            session.get(f"{impostor.url}/2/info", verify=verify, timeout=3)
    assert impostor.seen == []


def test_errors_in_the_channel_name_no_user_address_or_secret(tls, other_tls, tmp_path):
    user = Credentials("gntbot-read-7", "s3cret-Pa55")
    server = FakeRapi(tls.cert_file, tls.key_file, recorded(), credentials=(user.user, user.password)).start()
    impostor = FakeRapi(other_tls.cert_file, other_tls.key_file, recorded()).start()
    misnamed = FakeRapi(*_certificate_for("rapi.example.org", tmp_path), recorded()).start()
    url = f"https://127.0.0.1:{labctl.free_port()}"
    cases = {  # what fails → the line the channel sees starts with
        "401": (pinned(server, tls, read=Credentials(user.user, "wrong")), "RAPI refused the bot's credentials"),
        "403": (pinned(server, tls, read=user), "the bot's RAPI user lacks the right"),
        "timeout": (pinned(server, tls, read=user, timeout=0.3), "RAPI accepted the connection but gave no answer"),
        "pin": (pinned(impostor, tls, read=user), "the TLS certificate of its RAPI does not match"),
        "ca": (pinned(impostor, tls, read=user, fingerprint=None, ca_file=tls.ca_file),
               "TLS verification of its RAPI failed (unable to get local issuer certificate)"),
        "host": (pinned(misnamed, tls, read=user, fingerprint=None, ca_file=tmp_path / "ca.pem"),
                 "TLS verification of its RAPI failed (the certificate is not valid for the host in url)"),
        "refused": (pinned(server, tls, read=user, url=url), "RAPI refused the connection"),
    }
    server.answer("/2/query/node", Answer(403, fixture("error-403-job-wait.json")))
    server.answer("/2/info", Answer(200, fixture("info.json"), delay=1))
    commands = {"403": "!nodes", "timeout": "!cluster"}
    try:
        for case, (settings, expected) in cases.items():
            text = Chat(settings).text(commands.get(case, "!instances"))
            assert text.startswith(f"gnt-fsn: {expected}"), (case, text)
            for secret in (user.user, user.password, "127.0.0", "rapi.example.org", tls.fingerprint,
                           *(str(port) for port in (server.port, impostor.port, misnamed.port, url[-5:]))):
                assert secret not in text, (case, secret, text)
    finally:
        for running in (server, impostor, misnamed):
            running.stop()


def _certificate_for(name: str, directory: Path) -> tuple[Path, Path]:
    """A certificate for ``name`` only, from a CA saved as ``directory/ca.pem``."""
    ca = trustme.CA()
    leaf = ca.issue_cert(name)
    ca.cert_pem.write_to_path(directory / "ca.pem")
    leaf.cert_chain_pems[0].write_to_path(directory / "cert.pem")
    leaf.private_key_pem.write_to_path(directory / "key.pem")
    return directory / "cert.pem", directory / "key.pem"
