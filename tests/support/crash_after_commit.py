"""`python -m tests.support.crash_after_commit`: a router that SIGKILLs itself after its first handled record.

It dies after the record's database commit and before its Kafka offset commit, the
worst moment for effectively-once processing (tests/integration/test_consumer.py).
The hook is the runtime's generic `after_commit`; production code knows nothing of it.
"""

from __future__ import annotations

import os
import signal

from fastapi import FastAPI

from services.router.entrypoints.api import create_app
from services.router.settings import RouterSettings
from shared.events import Envelope
from shared.runtime import Runtime
from shared.web.serve import serve


async def _die(envelope: Envelope) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def create_doomed_app(settings: RouterSettings) -> FastAPI:
    app = create_app(settings)
    runtime: Runtime = app.state.runtime
    runtime.after_commit = _die
    return app


if __name__ == "__main__":
    serve(create_doomed_app, RouterSettings())
