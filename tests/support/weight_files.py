"""Real weight files laid out in a test's own directories, intact or damaged, and served
over HTTP as a mirror."""

import functools
import http.server
import shutil
import threading
from pathlib import Path

from models import weights
from tests.support.paths import WEIGHTS

SMALL = ["vgg19-cd16x/encoder_relu1_1", "vgg19-cd16x/decoder_relu1_1"]  # 2 files, ~10 kB


def copy_layout(names: list[str], root: Path) -> Path:
    """Copy real weight files into ``root`` laid out like ../shared/weights."""
    for name in names:
        file = weights.manifest()[name].file
        (root / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(WEIGHTS / file, root / file)  # copyfile: not the read-only mode
    return root


def flip_byte(path: Path, offset: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class DirectoryServer:
    """A real HTTP server on 127.0.0.1 for ``root``, in a thread: ``url``, ``close()``."""

    def __init__(self, root: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
