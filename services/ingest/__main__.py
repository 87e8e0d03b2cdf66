"""`python -m services.ingest`: run the ingest service (settings from the environment)."""

from services.ingest.entrypoints.api import create_app
from services.ingest.settings import IngestSettings
from shared.web.serve import serve

if __name__ == "__main__":
    serve(create_app, IngestSettings())
