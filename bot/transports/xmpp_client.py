"""The slixmpp client the XMPP transport drives: verified TLS, and a log with no secrets.

slixmpp logs every stanza at debug level, including SASL (with PLAIN, the
account password in base64) and room passwords in MUC joins; `hide_secrets`
keeps those out of the log before any client exists.
"""

from __future__ import annotations

import logging
import re
import ssl

import slixmpp

from bot.transports.settings import XmppSettings

STANZA_LOGGER = "slixmpp.xmlstream.xmlstream"  # the one that logs the stanzas sent and received
PLUGINS = ("xep_0030", "xep_0045", "xep_0199", "xep_0203")  # discovery, rooms, ping, delayed delivery
_SECRET_PAYLOAD = re.compile(
    r"(<(?:auth|response|challenge|success)\b[^>]*xmpp-sasl[^>]*>|<password\b[^>]*>)[^<]*(</)")


class _HideSecrets(logging.Filter):
    """Replaces the payload of SASL elements and of ``<password>`` with ``***``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "xmpp-sasl" in message or "<password" in message:
            record.msg, record.args = _SECRET_PAYLOAD.sub(r"\1***\2", message), None
        return True


_HIDE_SECRETS = _HideSecrets()


def hide_secrets() -> None:
    """Filter slixmpp's stanza log (once, however often it is called)."""
    logging.getLogger(STANZA_LOGGER).addFilter(_HIDE_SECRETS)


def new_client(settings: XmppSettings) -> slixmpp.ClientXMPP:
    """A client for ``settings``: TLS (direct or STARTTLS) verified unless ``tls`` is off."""
    plaintext = not settings.tls
    client = slixmpp.ClientXMPP(
        settings.jid, settings.password,
        plugin_config={"feature_mechanisms": {"unencrypted_plain": plaintext, "unencrypted_scram": plaintext}},
    )
    for plugin in PLUGINS:
        client.register_plugin(plugin)
    client.enable_direct_tls = settings.tls and settings.direct_tls
    client.enable_starttls = settings.tls and not settings.direct_tls
    client.enable_plaintext = plaintext
    # Verified TLS: the system's CAs, or only the configured CA file.
    client.ssl_context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    return client
