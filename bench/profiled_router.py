"""`python -m bench.profiled_router`: the router under cProfile; the stats go to $PROFILE_OUT on shutdown.

`python -m bench.run --profile FILE` runs the router this way, to see where its CPU goes.
"""

from __future__ import annotations

import cProfile
import os

from services.router.entrypoints.api import create_app
from services.router.settings import RouterSettings
from shared.web.serve import serve

if __name__ == "__main__":
    profile = cProfile.Profile()
    profile.enable()
    try:
        serve(create_app, RouterSettings())
    finally:
        profile.disable()
        profile.dump_stats(os.environ.get("PROFILE_OUT", "router.prof"))
