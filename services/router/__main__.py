"""`python -m services.router`: run the router service (settings from the environment)."""

from services.router.entrypoints.api import create_app
from services.router.settings import RouterSettings
from shared.web.serve import serve

if __name__ == "__main__":
    serve(create_app, RouterSettings())
