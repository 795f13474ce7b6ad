"""URLs as evaltrace shows and accepts them: no credential is ever shown, endpoints are checked.

Neither httpx nor urllib offers a redaction (httpx's ``URL`` keeps ``userinfo`` in ``str``),
so this is the one place: every log line, error, ``repr`` and page header that names an
endpoint passes it through ``redact_url`` (or a free text through ``redact_text``). A URL's
user name and password become ``***``, and so does every query parameter's value
(``?api_key=***``): endpoints carry no other query, and a token there is the usual mistake.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit

from ._exceptions import ConfigurationError

__all__ = ["HIDDEN", "check_endpoint", "redact_text", "redact_url"]

HIDDEN: Final = "***"
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")
_USERINFO = re.compile(r"(?<=://)[^/?#@\s]*@")
_QUERY_VALUE = re.compile(r"(?<=[?&;])([^=&;#\s]*)=[^&;#\s]*")


def redact_url(url: str) -> str:
    """``url`` with its user info and query values replaced by ``***`` (scheme, host, port
    and path kept); a URL too broken to parse is masked by pattern, never shown raw."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{HIDDEN}@{netloc.rpartition('@')[2]}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode([(k, HIDDEN) for k, _ in pairs], safe="*") if pairs else HIDDEN
        return parts._replace(netloc=netloc, query=query).geturl()
    except ValueError:  # "http://[::1": mask what looks like user info or a query value
        return _QUERY_VALUE.sub(rf"\1={HIDDEN}", _USERINFO.sub(f"{HIDDEN}@", url))


def redact_text(text: str) -> str:
    """``text`` (an exception's message, a log line) with every URL in it redacted."""
    return _URL.sub(lambda m: redact_url(m.group(0)), text)


def check_endpoint(url: str, name: str, *, grpc: bool = False) -> str:
    """``url`` if it can be an OTLP endpoint, else a ``ConfigurationError`` naming ``name``
    (the argument, option or variable it came from) and showing it redacted. gRPC cannot
    take credentials in the URL (they would become part of the host name)."""
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port
    except ValueError as exc:
        raise ConfigurationError(f"{name}={shown!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigurationError(
            f"{name}={shown!r}: expected an http:// or https:// URL with a host "
            "(e.g. http://127.0.0.1:4318)"
        )
    if grpc and (parts.username is not None or parts.password is not None):
        raise ConfigurationError(
            f"{name}={shown!r}: a gRPC endpoint cannot carry credentials in its URL (gRPC "
            "would take them as part of the host name); pass them as a header instead, e.g. "
            "otlp_headers={'authorization': 'Basic …'} or OTEL_EXPORTER_OTLP_HEADERS"
        )
    return url
