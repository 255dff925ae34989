"""The agents' tests at scale share one 2,000-guest cluster and app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager

import pytest
from mcp import ClientSession

from tests.agents.big_cluster import Big, big_cluster
from tests.agents.mcp_client import http_session, stdio_session

Opener = Callable[[str, str], AbstractAsyncContextManager[ClientSession]]


@pytest.fixture(scope="package")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Big]:
    """The 2,000-guest demo cluster with its app (made at the first test that asks for it)."""
    yield from big_cluster(tmp_path_factory)


@pytest.fixture(params=["stdio", "http"])
def opener(request: pytest.FixtureRequest) -> Opener:
    """How the agent reaches the MCP server: `proxgate mcp` as its child process, or the app's /mcp."""
    return stdio_session if request.param == "stdio" else http_session
