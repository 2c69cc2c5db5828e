"""Shared pytest fixtures: a real gRPC server on a free local port and a client for it (service tests)."""

import pytest
from service_fixture import RunningServer

from assetgen.service.server import ServerSettings


@pytest.fixture(scope="module")
def server():
    """A module's shared server: 2 concurrent streams, CPU, 2 workers, port 0."""
    srv = RunningServer(ServerSettings(max_concurrency=2, device="cpu", workers=2))
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def client(server):
    """An :class:`assetgen.client.AssetGenClient` connected to ``server``."""
    from assetgen.client import AssetGenClient

    with AssetGenClient(server.target, timeout_s=120) as c:
        yield c
