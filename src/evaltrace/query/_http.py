"""What the remote adapters share: client options (auth, TLS, timeout, transport), retries of
idempotent reads, and errors translated at the boundary into evaltrace's own."""

from __future__ import annotations

import base64
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import tenacity

from .._exceptions import BackendResponseError, BackendUnavailableError
from .._urls import redact_text, redact_url

__all__ = ["ClientOptions", "HttpBackend", "retrying"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class ClientOptions:
    """How a remote adapter reaches its backend.

    ``verify`` is on by default (a CA bundle path for private CAs, or an ``ssl.SSLContext``);
    ``transport`` replaces the network, e.g. ``httpx.MockTransport`` in tests; ``retries`` is
    how many times an idempotent read is tried again after a connection error or a 5xx;
    ``backoff`` the first wait between tries in seconds (doubling, jittered, at most 5 s apart),
    ``0`` to retry at once (tests over a mock transport).
    """

    headers: Mapping[str, str] | None = None
    bearer_token: str | None = field(default=None, repr=False)
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)
    verify: bool | str | ssl.SSLContext = True
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.2
    transport: httpx.BaseTransport | None = None

    def auth_headers(self) -> dict[str, str]:
        """The request headers (HTTP) or call metadata (gRPC) for the auth options."""
        out = dict(self.headers or {})
        if self.bearer_token:
            out["Authorization"] = f"Bearer {self.bearer_token}"
        if self.basic_auth:
            token = base64.b64encode(":".join(self.basic_auth).encode()).decode()
            out["Authorization"] = f"Basic {token}"
        return out

    def __repr__(self) -> str:  # never show a header's value: it may be a credential
        shown = sorted((self.headers or {}).keys())
        return (
            f"ClientOptions(headers={shown}, bearer_token={'***' if self.bearer_token else None}, "
            f"basic_auth={'***' if self.basic_auth else None}, verify={self.verify!r}, "
            f"timeout={self.timeout}, retries={self.retries}, backoff={self.backoff})"
        )


class _Retryable(Exception):
    """A failure worth another try: the connection, or a 5xx."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def retrying(options: ClientOptions, call: Callable[[], _T]) -> _T:
    """Run ``call``; on ``_Retryable`` try again with jittered exponential backoff
    (``options.backoff`` doubling, at most 5 s apart, ``options.retries`` more times), then
    raise its error."""
    wait: tenacity.wait.wait_base = (
        tenacity.wait_exponential(multiplier=options.backoff, max=5.0)
        + tenacity.wait_random(0, options.backoff)
        if options.backoff > 0
        else tenacity.wait_none()  # the jitter alone would still sleep up to 1 s per retry
    )
    try:
        result: _T = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retryable),
            stop=tenacity.stop_after_attempt(options.retries + 1),
            wait=wait,
            reraise=True,
        )(call)
        return result
    except _Retryable as exc:
        raise exc.error from None


class HttpBackend:
    """An ``httpx.Client`` with auth, TLS and timeouts, translating failures at the boundary."""

    def __init__(self, name: str, base_url: str, options: ClientOptions) -> None:
        verify = options.verify
        if isinstance(verify, str):
            verify = ssl.create_default_context(cafile=verify)
        self.name = name
        self.options = options
        self.shown_url = redact_url(base_url.rstrip("/"))
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=options.auth_headers(),
            verify=verify,
            timeout=options.timeout,
            transport=options.transport,
        )

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        """GET and parse JSON; 404 is returned (backends use it for "nothing found")."""

        def once() -> tuple[int, Any]:
            try:
                response = self.client.get(path, params=dict(params or {}))
            except httpx.TransportError as exc:
                raise _Retryable(
                    BackendUnavailableError(
                        f"{self.name} at {self.shown_url}: {type(exc).__name__}: "
                        f"{redact_text(str(exc))}"
                    )
                ) from None
            try:
                body = response.json()
            except ValueError:
                body = None
            if response.status_code == 404 or response.is_success:
                return response.status_code, body
            error = BackendResponseError(
                self.name, response.status_code, _message(body, response.text)
            )
            if response.status_code >= 500:
                raise _Retryable(error)
            raise error

        return retrying(self.options, once)

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


def _message(body: Any, text: str) -> str:
    """The backend's own explanation, from its JSON error shape or the raw text."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if body.get("message"):
            return str(body["message"])
    return text.strip()[:500] or "(empty body)"
