"""HTTPS for the API and the board: a certificate chain and its key, named by settings
(``CUSTOMS_STREAM_WEB_TLS_CERT`` and ``_KEY``); plain HTTP when neither is set."""

from __future__ import annotations

import ssl

from stream.settings import Settings


class WebTlsError(ValueError):
    """The API's certificate or key is missing, unreadable or not a pair."""


def server_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context the API serves with, or None for plain HTTP."""
    cert, key = settings.web_tls_cert, settings.web_tls_key
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise WebTlsError("set both CUSTOMS_STREAM_WEB_TLS_CERT and CUSTOMS_STREAM_WEB_TLS_KEY")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:  # the message names the files, no key material
        raise WebTlsError(f"the API's TLS certificate {cert} and key {key} cannot be "
                          f"used ({type(exc).__name__})") from None
    return context
