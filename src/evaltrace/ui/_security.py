"""What the UI answers and how browsers may use its pages: Host checking and security headers.

A page of another site whose name is rebound to 127.0.0.1 (DNS rebinding) reaches the UI with
its own name in ``Host``: only the names the UI is served under are answered (Starlette's
``TrustedHostMiddleware``). Every answer carries a Content-Security-Policy the pages satisfy
(scripts and styles only from ``/static``; the chart data is a JSON block, never run), and is
never framed, sniffed or sent on as a referrer to another site (the sample page, whose review
form must name its origin, is ``same-origin``; every other page ``no-referrer``). The
self-contained report carries the same policy as a ``<meta>`` tag, its inline assets allowed
by hash.
"""

from __future__ import annotations

import base64
import hashlib
import socket
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CSP", "HEADERS", "SecurityHeaders", "allowed_hosts", "report_csp"]

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
WILDCARDS = frozenset({"0.0.0.0", "::", "[::]", ""})

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
"""The server's policy: every script and style is a file under ``/static`` (uPlot sets
styles through the DOM, which a policy does not restrict)."""

HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def allowed_hosts(host: str, extra: Iterable[str] = ()) -> list[str]:
    """The ``Host`` names the UI answers when it listens on ``host``: loopback names, ``host``
    itself and ``extra``; listening on every interface adds this machine's own names."""
    names = [*LOOPBACK, *extra]
    if host.strip("[]") in {w.strip("[]") for w in WILDCARDS}:
        names += [socket.gethostname(), socket.getfqdn()]
    else:
        names.append(host)
    out: list[str] = []
    for name in names:
        name = name.lower()
        bracketed = f"[{name}]" if ":" in name and not name.startswith("[") else name
        for form in (name, bracketed):  # Starlette keeps an IPv6 literal's brackets
            if form and form not in out:
                out.append(form)
    return out


class SecurityHeaders:
    """ASGI middleware adding ``HEADERS`` to every response (pages, static files, errors)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                taken = {name.lower() for name, _ in message.get("headers", [])}
                extra = [h for h in HEADERS if h[0] not in taken]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def report_csp(scripts: Iterable[str], styles: Iterable[str]) -> str:
    """The report's ``<meta>`` policy: nothing loads, only these inline scripts and styles run
    (``frame-ancestors`` is not honoured in a meta tag: a file is not framed by a site)."""
    script_src = " ".join(_hash(s) for s in scripts) or "'none'"
    style_src = " ".join(_hash(s) for s in styles) or "'none'"
    return (
        f"default-src 'none'; script-src {script_src}; style-src {style_src}; "
        "img-src data:; form-action 'none'; base-uri 'none'"
    )
