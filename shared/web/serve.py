"""Run one service's app under uvicorn, with SIGTERM/SIGINT as a graceful shutdown."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from shared.settings import BaseServiceSettings


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
    uvicorn.Server(config).run()
