"""The server on a thread of its own, beside a program that does something else (the demo)."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

from rtastream.server.app import RECONNECT_TIMEOUT, make_app


class ServerThread:
    """Serves `redis_url` (and `store`, with `reconnect_timeout`: see make_app) at
    http://host:port/ from a daemon thread until close()."""

    def __init__(
        self,
        redis_url: str | None,
        host: str,
        port: int,
        store: str | None = None,
        reconnect_timeout: float = RECONNECT_TIMEOUT,
    ) -> None:
        self.host, self.port = host, port
        self.loop = asyncio.new_event_loop()
        app = make_app(redis_url, store=store, reconnect_timeout=reconnect_timeout)
        self.runner = web.AppRunner(app, handle_signals=False)
        started: asyncio.Future[None] = self.loop.create_future()
        self.thread = threading.Thread(
            target=self._run, args=(started,), daemon=True, name="rtastream-server"
        )
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._wait(started), self.loop).result()

    @property
    def url(self) -> str:
        host, port = self.runner.addresses[0][:2]  # the port bound, when 0 was asked for
        return f"http://{host}:{port}/"

    def _run(self, started: asyncio.Future[None]) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start(started))
        self.loop.run_forever()

    async def _start(self, started: asyncio.Future[None]) -> None:
        try:
            await self.runner.setup()
            await web.TCPSite(self.runner, self.host, self.port).start()
        except BaseException as exc:
            started.set_exception(exc)
        else:
            started.set_result(None)

    @staticmethod
    async def _wait(started: asyncio.Future[None]) -> None:
        await started

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()
