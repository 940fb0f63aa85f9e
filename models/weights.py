"""Pretrained weight files: which exist, where they are, whether they are intact, how to get them.

The repository ships only ``models/manifest.json``: for every weight file its logical name
(``"vgg19-cd16x/encoder_relu5_1"``), relative path, size, SHA-256, upstream URL and
licence. The files themselves are data and live outside the code, in the first of
``search_dirs()`` that holds them:

1. ``$STYLIZE_WEIGHTS_DIR`` when set (e.g. ``../shared/weights``, read-only is fine);
2. the cache directory, ``cache_dir()``, which ``fetch`` and ``import_dir`` fill.

A file is used only after its size and SHA-256 match the manifest. torch is imported
only by ``load_state_dict``, so listing and fetching stay fast.

A file that no directory holds is an error (``WeightsMissing``), unless the caller asked
for downloads on first use: inside ``with download_missing(progress):`` (``stylize run``
and the workers do this) ``locate`` downloads it into the cache, from its pinned URL or
``$STYLIZE_WEIGHTS_MIRROR``, verified as it streams, as torch.hub does. With
``STYLIZE_OFFLINE=1`` nothing is ever downloaded.
"""

import hashlib
import http.client
import json
import os
import tempfile
import threading
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from models.errors import WeightsCorrupt, WeightsMissing

if TYPE_CHECKING:
    import torch

Progress = Callable[[str, int, int], None]
"""``progress(name, done_bytes, total_bytes)``, called as a download advances."""

_CHUNK_BYTES = 16 * 1024


@dataclass(frozen=True)
class WeightFile:
    """One manifest entry: a published state dict and where it came from."""

    name: str  # logical name, the file path without ".pth": "vgg19-cd16x/encoder_relu5_1"
    file: str  # path relative to a weights directory: "vgg19-cd16x/encoder_relu5_1.pth"
    bytes: int
    sha256: str
    url: str  # pinned upstream URL (what a machine with internet access downloads)
    license: str
    upstream_repo: str
    upstream_commit: str
    upstream_path: str
    description: str


@lru_cache(maxsize=1)
def _manifest_entries() -> tuple[WeightFile, ...]:
    text = resources.files("models").joinpath("manifest.json").read_text(encoding="utf-8")
    return tuple(WeightFile(name=name, **fields) for name, fields in json.loads(text).items())


def manifest() -> dict[str, WeightFile]:
    """Every known weight file by logical name (``models/manifest.json``, read once)."""
    return {wf.name: wf for wf in _manifest_entries()}


def _env_path(variable: str) -> Path | None:
    value = os.environ.get(variable)
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """Where ``fetch`` and ``import_dir`` put files by default.

    ``$STYLIZE_CACHE_DIR``, else ``$XDG_CACHE_HOME/stylize/weights``, else
    ``~/.cache/stylize/weights``.
    """
    explicit = _env_path("STYLIZE_CACHE_DIR")
    if explicit is not None:
        return explicit
    xdg = _env_path("XDG_CACHE_HOME") or Path.home() / ".cache"
    return xdg / "stylize" / "weights"


def offline() -> bool:
    """``STYLIZE_OFFLINE=1`` (or true/yes): no download on first use (``fetch``, asked
    for by name, still downloads)."""
    return os.environ.get("STYLIZE_OFFLINE", "").strip().lower() in ("1", "true", "yes")


def default_mirror() -> str | None:
    """``$STYLIZE_WEIGHTS_MIRROR``: a URL laid out like ../shared/weights that replaces
    the manifest's upstream URLs (for machines that reach a mirror, not the internet)."""
    return os.environ.get("STYLIZE_WEIGHTS_MIRROR") or None


def search_dirs() -> list[Path]:
    """The directories ``locate`` looks in, in order: ``$STYLIZE_WEIGHTS_DIR``, then the cache."""
    weights_dir = _env_path("STYLIZE_WEIGHTS_DIR")
    return [weights_dir, cache_dir()] if weights_dir is not None else [cache_dir()]


# --- messages -----------------------------------------------------------------------------


def _fix_hint(wf: WeightFile, dest: Path | None = None) -> str:
    """The commands that put an intact copy in ``dest`` (the cache when None)."""
    to = "" if dest is None else f" --dest {dest}"
    return (
        f"Fix: `stylize weights fetch{to} {wf.name}` downloads it, or "
        f"`stylize weights import ../shared/weights{to}` copies it from a local copy."
    )


def _mismatch(wf: WeightFile, size: int, sha256: str) -> str:
    return f"expected SHA-256 {wf.sha256} ({wf.bytes} bytes), found SHA-256 {sha256} ({size} bytes)"


def _listing(directories: Iterable[Path]) -> str:
    return ", ".join(str(d) for d in directories)


def _entry(name: str) -> WeightFile:
    known = manifest()
    if name not in known:
        raise WeightsMissing(
            f"unknown weights name {name!r}; known names: {', '.join(sorted(known))}"
        )
    return known[name]


def _select(names: Iterable[str] | None) -> list[WeightFile]:
    if names is None:
        return list(manifest().values())
    if isinstance(names, str):  # one name, not an iterable of its characters
        names = [names]
    return [_entry(name) for name in names]


# --- verification -------------------------------------------------------------------------

# Files already hashed and found intact in this process. Key: (resolved path, size,
# mtime_ns, expected SHA-256); replacing or editing a file changes its size or mtime, so a
# stale entry is never hit. Least recently used entries go beyond _VERIFIED_MAX.
_VERIFIED_MAX = 64
_verified: OrderedDict[tuple[str, int, int, str], None] = OrderedDict()
_verified_lock = threading.Lock()


def _verified_key(path: Path, wf: WeightFile) -> tuple[str, int, int, str]:
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns, wf.sha256)


def _remember_verified(key: tuple[str, int, int, str]) -> None:
    with _verified_lock:
        _verified[key] = None
        _verified.move_to_end(key)
        while len(_verified) > _VERIFIED_MAX:
            _verified.popitem(last=False)


def _problem(path: Path, wf: WeightFile) -> str | None:
    """None when ``path`` matches the manifest, else what is wrong with it."""
    key = _verified_key(path, wf)
    with _verified_lock:
        if key in _verified:
            _verified.move_to_end(key)
            return None
    with path.open("rb") as stream:
        sha256 = hashlib.file_digest(stream, "sha256").hexdigest()
    size = key[1]
    if size != wf.bytes or sha256 != wf.sha256:
        return _mismatch(wf, size, sha256)
    _remember_verified(key)
    return None


def _is_intact(path: Path, wf: WeightFile) -> bool:
    return path.is_file() and _problem(path, wf) is None


def verify(path: Path, wf: WeightFile) -> None:
    """Raise ``WeightsCorrupt`` unless ``path`` has the manifest's size and SHA-256."""
    problem = _problem(path, wf)
    if problem is not None:
        raise WeightsCorrupt(f"weight file {path} is corrupt: {problem}. {_fix_hint(wf)}")


# --- finding and loading ------------------------------------------------------------------


def _find(wf: WeightFile, directories: list[Path]) -> Path | None:
    """The first of ``directories`` that holds a copy of ``wf``, intact or not."""
    return next((d for d in directories if (d / wf.file).is_file()), None)


@dataclass(frozen=True)
class _FirstUse:
    progress: Progress | None


# The caller's policy for files no directory holds: None = raise, else download. A
# context variable, so a policy set by `with download_missing()` ends with its block.
_first_use: ContextVar[_FirstUse | None] = ContextVar("stylize_weights_first_use", default=None)


@contextmanager
def download_missing(progress: Progress | None = None) -> Iterator[None]:
    """Within the block, ``locate`` (and so every network the engine loads) downloads a
    weight file that no search directory holds into ``cache_dir()``, calling
    ``progress(name, done, total)`` as it streams; unless ``offline()``."""
    token = _first_use.set(_FirstUse(progress))
    try:
        yield
    finally:
        _first_use.reset(token)


def locate(name: str) -> Path:
    """The verified path of weight file ``name`` (a logical name, see ``manifest()``).

    The first directory of ``search_dirs()`` that holds the file wins; if its copy is
    corrupt this raises ``WeightsCorrupt`` rather than trying a later copy, so what runs
    never depends silently on which copy happens to be intact. A file found nowhere is
    downloaded inside ``download_missing()``, else ``WeightsMissing``.
    """
    wf = _entry(name)
    directories = search_dirs()
    directory = _find(wf, directories)
    policy = _first_use.get()
    if directory is None and policy is not None:
        return _download_on_first_use(wf, directories, policy)
    if directory is None:
        raise WeightsMissing(
            f"weight file {wf.file} ({wf.name}) is missing: searched {_listing(directories)}; "
            f"expected SHA-256 {wf.sha256}. {_fix_hint(wf)} "
            "Or point STYLIZE_WEIGHTS_DIR at a directory that holds it."
        )
    path = directory / wf.file
    problem = _problem(path, wf)
    if problem is not None:
        dest = None if directory == cache_dir() else directory
        raise WeightsCorrupt(
            f"weight file {path} is corrupt: {problem}. Searched {_listing(directories)}; "
            f"the first copy found is the one used. {_fix_hint(wf, dest)}"
        )
    return path


def _download_on_first_use(wf: WeightFile, directories: list[Path], policy: _FirstUse) -> Path:
    missing = f"weight file {wf.file} ({wf.name}) is missing from {_listing(directories)}"
    if offline():
        raise WeightsMissing(
            f"{missing}, and STYLIZE_OFFLINE=1 forbids downloading it. Copy the weight files "
            "from a local folder with `stylize weights import DIR` (e.g. ../shared/weights), "
            "point STYLIZE_WEIGHTS_DIR at one, or unset STYLIZE_OFFLINE."
        )
    try:
        return fetch([wf.name], progress=policy.progress)[0]
    except (WeightsMissing, WeightsCorrupt) as error:
        raise type(error)(f"{missing}; downloading it failed: {error}") from None


def load_state_dict(name: str, map_location: str = "cpu") -> dict[str, "torch.Tensor"]:
    """The plain state dict of weight file ``name``, verified before it is loaded.

    The vgg19-cd16x files are ``{'model': state_dict, 'epoch': n}``; this returns the inner
    ``state_dict`` so every caller sees parameter names only.
    """
    import torch  # here, not at the top: `stylize weights list` must not pay for torch

    loaded = torch.load(locate(name), map_location=map_location, weights_only=True)
    if isinstance(loaded, dict) and isinstance(loaded.get("model"), dict):
        loaded = loaded["model"]
    return dict(loaded)


def status() -> list[tuple[WeightFile, Path | None, str]]:
    """For every manifest entry: the copy ``locate`` would use and its state.

    State is ``"ok"``, ``"corrupt"`` (the path is the bad copy) or ``"missing"`` (path None).
    """
    directories = search_dirs()
    rows: list[tuple[WeightFile, Path | None, str]] = []
    for wf in manifest().values():
        directory = _find(wf, directories)
        if directory is None:
            rows.append((wf, None, "missing"))
        else:
            path = directory / wf.file
            rows.append((wf, path, "ok" if _problem(path, wf) is None else "corrupt"))
    return rows


# --- getting the files --------------------------------------------------------------------


def _install(
    source: BinaryIO,
    target: Path,
    wf: WeightFile,
    *,
    origin: str,
    progress: Progress | None = None,
) -> None:
    """Stream ``source`` into ``target``, hashing on the way; keep it only if it matches.

    The bytes go to a temporary file beside ``target`` that replaces it atomically
    (``os.replace``) once size and SHA-256 agree with the manifest, so a reader never sees
    a half-written or wrong file. On any failure the temporary file is removed.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        digest, done = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            if progress is not None:
                progress(wf.name, 0, wf.bytes)
            # Stop just past the expected size: a wrong URL must not fill the disk.
            while done <= wf.bytes and (chunk := source.read(_CHUNK_BYTES)):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(wf.name, done, wf.bytes)
        if done > wf.bytes:
            problem = f"expected SHA-256 {wf.sha256} ({wf.bytes} bytes), received more bytes"
        elif done != wf.bytes or digest.hexdigest() != wf.sha256:
            problem = _mismatch(wf, done, digest.hexdigest())
        else:
            problem = None
        if problem is not None:
            raise WeightsCorrupt(
                f"{origin} is not an intact {wf.file}: {problem}. {target} was left "
                f"unchanged. Use another source: `stylize weights fetch {wf.name}` "
                f"downloads it from {wf.url}, `stylize weights import DIR` copies it from "
                "another local copy (e.g. ../shared/weights)."
            )
        os.chmod(temporary, 0o644)  # mkstemp makes it private; weights are public data
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _remember_verified(_verified_key(target, wf))


def _download(
    url: str, target: Path, wf: WeightFile, progress: Progress | None, timeout: float
) -> None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            _install(response, target, wf, origin=url, progress=progress)
    except ValueError as error:  # urllib's "unknown url type"
        raise WeightsMissing(
            f"cannot download {wf.file}: {url!r} is not a URL ({error}). A mirror is a URL "
            "such as https://host/weights or file:///srv/weights; to copy from a local "
            "directory use `stylize weights import DIR`."
        ) from None
    except (
        urllib.error.URLError,
        http.client.HTTPException,
        TimeoutError,
        ConnectionError,
    ) as error:
        # HTTPError says "HTTP Error 404: ..."; other URLErrors wrap the socket error.
        reason = (
            error if isinstance(error, urllib.error.HTTPError) else getattr(error, "reason", error)
        )
        raise WeightsMissing(
            f"could not download {wf.file} from {url}: {reason}. Check the network or the "
            "mirror (--mirror URL or STYLIZE_WEIGHTS_MIRROR), or copy the weight files from "
            "a local folder with `stylize weights import DIR` (e.g. ../shared/weights)."
        ) from None


def fetch(
    names: Iterable[str] | None = None,
    *,
    dest: Path | None = None,
    mirror: str | None = None,
    progress: Progress | None = None,
    timeout: float = 60,
) -> list[Path]:
    """Download weight files into ``dest`` (default ``cache_dir()``); return their paths.

    ``names`` defaults to the whole manifest. A file already intact in ``dest`` is kept
    (no download, no progress calls). Files come from the manifest's upstream URL, or from
    ``f"{mirror}/{file}"`` when a mirror laid out like ``../shared/weights`` is given
    (any URL urllib opens: http, https, file); ``mirror`` defaults to ``default_mirror()``. Each download is verified while it streams
    and lands atomically. Raises ``WeightsCorrupt`` when the bytes do not match (nothing is
    left behind) and ``WeightsMissing`` naming the URL when the download fails.
    """
    dest = cache_dir() if dest is None else Path(dest).expanduser()
    mirror = mirror or default_mirror()
    paths = []
    for wf in _select(names):
        target = dest / wf.file
        if not _is_intact(target, wf):
            url = wf.url if mirror is None else f"{mirror.rstrip('/')}/{wf.file}"
            _download(url, target, wf, progress, timeout)
        paths.append(target)
    return paths


def import_dir(
    src: Path, *, dest: Path | None = None, names: Iterable[str] | None = None
) -> list[Path]:
    """Copy weight files from ``src`` (laid out like ``../shared/weights``) into ``dest``.

    ``dest`` defaults to ``cache_dir()``. With ``names=None`` every manifest file present in
    ``src`` is imported (at least one must be); named files must all be there. Each copy is
    verified as it is written and lands atomically; a corrupt source raises
    ``WeightsCorrupt`` and is not copied. Files already intact in ``dest`` are kept.
    Returns the paths in ``dest``.
    """
    src = Path(src).expanduser()
    dest = cache_dir() if dest is None else Path(dest).expanduser()
    if not src.is_dir():
        raise WeightsMissing(f"cannot import weights from {src}: not a directory")
    paths = []
    for wf in _select(names):
        source = src / wf.file
        if not source.is_file():
            if names is None:
                continue
            raise WeightsMissing(f"cannot import {wf.name}: {source} does not exist")
        target = dest / wf.file
        if not _is_intact(target, wf):
            with source.open("rb") as stream:
                _install(stream, target, wf, origin=str(source))
        paths.append(target)
    if not paths:
        example = next(iter(manifest().values())).file
        raise WeightsMissing(
            f"no weight files found in {src}: expected a layout like ../shared/weights, "
            f"e.g. {src / example}"
        )
    return paths
