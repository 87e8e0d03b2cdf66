"""Run one service's app under uvicorn, with SIGTERM/SIGINT as a graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from types import FrameType

import uvicorn
from fastapi import FastAPI

from shared.settings import BaseServiceSettings


class _Server(uvicorn.Server):
    """uvicorn's server, whose main loop ticks once a second instead of ten times (an idle process
    sleeps), and is woken at once by the shutdown signal instead of noticing it on its next tick."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._exit: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._loop, self._exit = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 10) % 864000  # uvicorn refreshes its Date header on every tenth tick: each one here
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit.wait(), timeout=1.0)
            should_exit = await self.on_tick(counter)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._loop is not None and self._exit is not None:
            self._loop.call_soon_threadsafe(self._exit.set)


def serve(create_app: Callable[..., FastAPI], settings: BaseServiceSettings) -> None:
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # our JSON logging is already configured by create_app
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    _Server(config).run()
