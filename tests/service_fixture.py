"""A real ``grpc.aio`` server on port 0, on its own event loop in a background thread (service tests)."""

from __future__ import annotations

import asyncio
import threading

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from assetgen.service.server import ServerSettings, create_server, stop_server

TINY = dict(texture_size=64, lods=1, preview_size=0)
"""Export options that keep service tests fast (64² maps, one LOD, no preview)."""


class RunningServer:
    def __init__(self, settings: ServerSettings):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server, self.port = asyncio.run_coroutine_threadsafe(
            create_server("127.0.0.1", 0, settings), self.loop).result(120)
        self.service = self.server.assetgen_service
        self.target = f"127.0.0.1:{self.port}"

    def close(self):
        asyncio.run_coroutine_threadsafe(stop_server(self.server, 1.0), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def violations(err: grpc.RpcError) -> dict[str, str]:
    """Field → description of an INVALID_ARGUMENT error's ``google.rpc.BadRequest`` details."""
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
    status = rpc_status.from_call(err)
    assert status is not None, "no google.rpc.Status details"
    out = {}
    for detail in status.details:
        br = error_details_pb2.BadRequest()
        assert detail.Unpack(br)
        out.update({v.field: v.description for v in br.field_violations})
    return out

