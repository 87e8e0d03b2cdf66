"""`python -m services.sla`: run the sla service (settings from the environment)."""

from services.sla.entrypoints.api import SERVICE

if __name__ == "__main__":
    SERVICE.main()
