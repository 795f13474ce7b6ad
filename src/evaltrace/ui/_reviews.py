"""Human review in the UI: what a page shows of reviews, and who may post one.

The UI never imports the store or the tracker: ``evaltrace ui`` hands ``create_app`` a
``ReviewDesk`` whose ``write`` is a ``ReviewWriter``'s ``review`` (on the UI's store, or with
``--jaeger`` the store given by ``--store`` or the default one) and whose ``read`` is the
source adapter's ``get_reviews``. Posting a review needs four things: a request from this
machine (loopback), an ``Origin`` (or, without one, a ``Referer``) of the page's own host, the
CSRF token of the page's form (``asgi-csrf``, double-submit cookie), and a writable store;
each refusal says which was missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from ..query import ReviewRecord
from ..schema import REVIEW_VERDICTS

__all__ = [
    "LOOPBACK_CLIENTS",
    "ReviewDesk",
    "badge",
    "from_this_page",
    "latest_by_sample",
    "review_panel",
]

LOOPBACK_CLIENTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})
"""Client addresses a review is taken from (``testclient``: Starlette's test transport)."""

Write = Callable[..., ReviewRecord]
"""``write(run_id, sample_id, verdict, note, reviewer=..., result=...) -> ReviewRecord``."""


@dataclass
class ReviewDesk:
    """Where the UI reads reviews from and writes them to."""

    read: Callable[[str], list[ReviewRecord]]
    write: Write | None = None
    refusal: str | None = None
    """Why no review can be written here (a read-only store, none configured); None: it can."""
    close: Callable[[], None] = lambda: None
    label: str = ""
    """Where reviews are written (said when the UI starts)."""

    @property
    def takes_reviews(self) -> bool:
        return self.write is not None and self.refusal is None

    def reviews(self, run_id: str) -> list[ReviewRecord]:
        """The run's reviews, oldest first; none where the backend cannot hold them."""
        try:
            return self.read(run_id)
        except NotImplementedError:
            return []


def latest_by_sample(reviews: Iterable[ReviewRecord]) -> dict[str, dict[str, Any]]:
    """The standing review per sample, as the badge a table shows."""
    out: dict[str, dict[str, Any]] = {}
    for review in reviews:
        out[review["sample_id"]] = badge(review)
    return out


def badge(review: Mapping[str, Any]) -> dict[str, Any]:
    """What a table cell shows of a review: its verdict, its note (as a tooltip), when."""
    return {
        "verdict": review["verdict"],
        "note": review.get("note") or "",
        "reviewer": review.get("reviewer") or "",
        "when": str(review.get("created_at", ""))[:16].replace("T", " "),
    }


def review_panel(
    reviews: Iterable[ReviewRecord],
    run_id: str,
    sample_id: str,
    desk: ReviewDesk,
    token: str | None,
) -> dict[str, Any]:
    """The sample page's review section: the standing review, the history (newest first),
    and the form (or why there is none)."""
    mine = [badge(r) for r in reviews if r["sample_id"] == sample_id]
    return {
        "latest": mine[-1] if mine else None,
        "history": list(reversed(mine)),
        "form": {
            "run_id": run_id,
            "sample_id": sample_id,
            "token": token,
            "verdicts": REVIEW_VERDICTS,
        }
        if desk.takes_reviews and token is not None
        else None,
        "refusal": None if desk.takes_reviews else desk.refusal or "this UI takes no reviews",
    }


def from_this_page(headers: Mapping[str, str], scheme: str) -> bool:
    """Whether a POST comes from a page of this server: its ``Origin`` (else its ``Referer``)
    names the host the request was sent to. A page of another site posting here names its own."""
    host = headers.get("host", "")
    origin = headers.get("origin")
    if origin is not None:
        return origin == f"{scheme}://{host}"
    referer = headers.get("referer")
    if referer is None:
        return False
    parts = urlsplit(referer)
    return parts.scheme == scheme and parts.netloc == host
