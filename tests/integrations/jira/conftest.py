"""Fixtures: fake Jira servers (Cloud and Data Center) on loopback, and clients with instant retries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from integrations.jira.client import JiraClient, RetryPolicy
from tests.fakes.jira_server import FakeJira
from tests.fakes.loopback import serve_asgi
from tests.integrations.jira.fixtures import ENV, make_conn


class SleepRecorder:
    """Stands in for ``time.sleep``: records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


def _serve(deployment: str) -> Iterator[tuple[FakeJira, str]]:
    fake = FakeJira(deployment=deployment, changelog_embed_limit=3, comment_embed_limit=5)
    with serve_asgi(fake.app) as url:
        yield fake, url


@pytest.fixture
def cloud_jira() -> Iterator[tuple[FakeJira, str]]:
    yield from _serve("cloud")


@pytest.fixture
def dc_jira() -> Iterator[tuple[FakeJira, str]]:
    yield from _serve("datacenter")


ClientFactory = Callable[..., JiraClient]


@pytest.fixture
def make_client(sleeps: SleepRecorder) -> ClientFactory:
    """``make_client(url, deployment=..., **conn_overrides)``: a JiraClient whose retries never sleep."""

    def build(url: str, deployment: str = "cloud", *, attempts: int = 4, **overrides: Any) -> JiraClient:
        conn = make_conn(base_url=url, deployment=deployment, timeout_seconds=5, **overrides)
        return JiraClient(
            conn, retry=RetryPolicy(max_attempts=attempts, base_delay=0.5, max_delay=30, sleep=sleeps), env=ENV
        )

    return build
