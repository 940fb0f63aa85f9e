"""The HTTP boundary: FastAPI routes, checks, auth, limits, error mapping. Never imports
torch; the engine runs in ``workers/``. Start at ``service/app.py``."""
