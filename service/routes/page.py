"""``/``: a small web page to try the API (``static/``: plain HTML, CSS and JavaScript).

The page is only static files: it needs no API key to load, and it calls the same public
routes any client does (``POST /stylize``, ``GET /jobs/{id}``, ``DELETE /jobs/{id}`` …),
sending the key the user typed in. Nothing here touches Redis or the engine.
"""

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"

router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> FileResponse:
    # no-cache: revalidated (by ETag) on every visit, so a new version shows at once.
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


class _Revalidated(StaticFiles):
    """Static files that the browser revalidates (by ETag) on every use: the page and its
    script always come from the same version of the server."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


def mount_static(app: FastAPI) -> None:
    """The page's script and styles at ``/static``."""
    app.mount("/static", _Revalidated(directory=STATIC_DIR), name="static")
