"""`python -m services.insights`: run the insights service (settings from the environment)."""

from services.insights.entrypoints.api import SERVICE

if __name__ == "__main__":
    SERVICE.main()
