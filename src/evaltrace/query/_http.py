"""The HTTP side shared by the Jaeger and Tempo adapters: client options and error mapping."""

from __future__ import annotations

import base64
import ssl
from collections.abc import Mapping
from typing import Any

import httpx

from .._exceptions import BackendResponseError, BackendUnavailableError

__all__ = ["HttpBackend", "auth_headers"]


def auth_headers(
    headers: Mapping[str, str] | None,
    bearer_token: str | None,
    basic_auth: tuple[str, str] | None,
) -> dict[str, str]:
    """The request headers (HTTP) or call metadata (gRPC) for the auth options adapters take."""
    out = dict(headers or {})
    if bearer_token:
        out["Authorization"] = f"Bearer {bearer_token}"
    if basic_auth:
        out["Authorization"] = "Basic " + base64.b64encode(":".join(basic_auth).encode()).decode()
    return out


class HttpBackend:
    """An ``httpx.Client`` with auth, TLS and timeouts, translating failures at the boundary."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        bearer_token: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        verify: bool | str | ssl.SSLContext = True,
        timeout: float = 30.0,
    ) -> None:
        if isinstance(verify, str):
            verify = ssl.create_default_context(cafile=verify)
        self.name = name
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=auth_headers(headers, bearer_token, basic_auth),
            verify=verify,
            timeout=timeout,
        )

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        """GET and parse JSON; 404 is returned (backends use it for "nothing found")."""
        try:
            response = self.client.get(path, params=dict(params or {}))
        except httpx.TransportError as exc:
            raise BackendUnavailableError(f"{self.name} at {self.client.base_url}: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 404 or response.is_success:
            return response.status_code, body
        raise BackendResponseError(self.name, response.status_code, _message(body, response.text))

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
