"""The compare page's statistics parameters, as the CLI's: alpha= and correction=."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from evaltrace import SQLiteQueryAdapter
from evaltrace._config import TraceLinks
from evaltrace.ui import Source
from evaltrace.ui._app import create_app

from .conftest import BASELINE, CANDIDATE

LOCAL = "http://127.0.0.1:8000"
URL = f"/compare?a={BASELINE}&b={CANDIDATE}"


@pytest.fixture
def client(store: Path) -> Iterator[TestClient]:
    """The app over the UI's store."""
    app = create_app(Source(SQLiteQueryAdapter(store), "s"), TraceLinks(None, None))
    with TestClient(app, base_url=LOCAL) as client:
        yield client


def test_alpha_and_correction_change_the_rule_the_page_states(client: TestClient) -> None:
    """Default Holm at 0.05; alpha=0.2&correction=maxt is applied, said, and kept in links."""
    assert "Holm, alpha 0.05" in client.get(URL).text
    page = client.get(URL + "&alpha=0.2&correction=maxt").text
    assert "max-T permutation, alpha 0.2" in page
    assert "alpha=0.2" in page.split('id="regressed"')[1]  # the sample links keep the rule


def test_a_bad_alpha_or_correction_is_a_clear_400(client: TestClient) -> None:
    """Named with the value and what is expected; never silently replaced."""
    bad = client.get(URL + "&alpha=5")
    assert (
        bad.status_code == 400
        and "alpha=&#39;5&#39;: expected a number between 0 and 1" in bad.text
    )
    bad = client.get(URL + "&correction=bonferroni")
    assert bad.status_code == 400 and "expected holm or maxt" in bad.text
