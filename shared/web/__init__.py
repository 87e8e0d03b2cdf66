"""HTTP plumbing every service's FastAPI app shares."""
