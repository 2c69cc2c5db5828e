"""A real ``grpc.aio`` server on port 0, on its own event loop in a background thread (service tests)."""

from __future__ import annotations

import asyncio
import threading

from assetgen.service.server import ServerSettings, create_server, stop_server


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
