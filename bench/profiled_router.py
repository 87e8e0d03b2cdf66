"""`python -m bench.profiled_router`: the router under cProfile; the stats go to $PROFILE_OUT on shutdown.

`python -m bench.run --part routing --profile FILE` runs the router this way, to see where its CPU goes.
"""

from __future__ import annotations

import cProfile
import os
import signal
import sys
from types import FrameType

from services.router.entrypoints.api import create_app
from services.router.settings import RouterSettings
from shared.web.serve import serve

if __name__ == "__main__":
    profile = cProfile.Profile()

    def dump(signum: int | None = None, frame: FrameType | None = None) -> None:
        profile.disable()
        profile.dump_stats(os.environ.get("PROFILE_OUT", "router.prof"))
        if signum is not None:
            sys.exit(0)

    # uvicorn shuts down on SIGTERM, then raises the signal again with the handlers it found at start
    # restored: this one, so the stats are written before the process ends (a default handler would
    # end it first)
    signal.signal(signal.SIGTERM, dump)
    signal.signal(signal.SIGINT, dump)
    profile.enable()
    serve(create_app, RouterSettings())
    dump()
