"""Fixtures shared by the test modules: real local servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import FeedServer


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """A feed server on 127.0.0.1 (port 0), stopped after the test."""
    with FeedServer() as feed_server:
        yield feed_server
