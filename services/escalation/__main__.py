"""`python -m services.escalation`: run the escalation service (settings from the environment)."""

from services.escalation.entrypoints.api import create_app
from services.escalation.settings import EscalationSettings
from shared.web.serve import serve

if __name__ == "__main__":
    serve(create_app, EscalationSettings())
