"""slixmpp's stanza log, as the XMPP transport sets it up: no password in it, at any level."""

from __future__ import annotations

import base64
import logging

from bot.transports.xmpp_client import STANZA_LOGGER, hide_secrets

PASSWORD = "correct-horse-battery"
PLAIN = base64.b64encode(f"\0gntbot\0{PASSWORD}".encode()).decode()


def test_sasl_and_room_passwords_never_reach_the_log(caplog) -> None:
    hide_secrets()
    hide_secrets()  # the transport calls it per instance: once is enough, twice does no harm
    stanzas = logging.getLogger(STANZA_LOGGER)
    assert len(stanzas.filters) == 1
    with caplog.at_level(logging.DEBUG, logger=STANZA_LOGGER):
        stanzas.debug("SEND: %s", f'<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">{PLAIN}</auth>')
        stanzas.debug("SEND: %s", f'<presence to="ops@conference.localhost/gntbot"><x xmlns="http://jabber.org/'
                                  f'protocol/muc"><password>{PASSWORD}</password></x></presence>')
        stanzas.debug("RECV: %s", '<message from="alice@localhost"><body>hello</body></message>')
    assert PASSWORD not in caplog.text and PLAIN not in caplog.text
    assert 'mechanism="PLAIN">***</auth>' in caplog.text and "<password>***</password>" in caplog.text
    assert "<body>hello</body>" in caplog.text  # everything else is logged as it was
