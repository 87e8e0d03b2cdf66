"""`python -m services.sla`: run the sla service (settings from the environment)."""

from services.sla.entrypoints.api import create_app
from services.sla.settings import SlaSettings
from shared.web.serve import serve

if __name__ == "__main__":
    serve(create_app, SlaSettings())
