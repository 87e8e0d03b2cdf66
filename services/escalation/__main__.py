"""`python -m services.escalation`: run the escalation service (settings from the environment)."""

from services.escalation.entrypoints.api import SERVICE

if __name__ == "__main__":
    SERVICE.main()
