"""Batches of ``stylize run``: every content × style of folders or globs (or the jobs of a
``--pairs`` file) into an output folder, one image per job.

    stylize run photos/ paintings/ -o out/             # 5 photos × 7 paintings: 35 files
    stylize run 'photos/*.jpg' sketch.png -o out/      # quoted: stylize expands it
    stylize run --pairs jobs.txt -o out/
    stylize run photos/ a.jpg b.jpg -o out/ --blend --style-weights 0.7 0.3

A run is a batch when CONTENT or a STYLE is a directory or a glob, or with ``--pairs``.
Each style is then a job of its own, named ``<content>__<style>.<ext>``; with ``--blend``
every content gets all the styles together, as a single run does
(``<content>__<a>+<b>.<ext>``). Outputs that exist are skipped unless ``--overwrite``, so
a batch that was stopped picks up where it was (each file is written whole, under a
temporary name first). A job that fails (an undecodable file in a folder) is reported on
a line of its own and the batch goes on; the summary counts what was done, skipped and
failed, and the exit status is 1 if anything failed.

This module plans a batch (``plan``), keeps its books (``Batch``) and runs it in this
process (``run_here``: the engine loaded once, each style encoded once); ``cli/remote.py``
runs the same plan through a server.
"""

import glob
import os
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cli.progress import ProgressBars
from models.errors import InvalidParameter, StylizeError

if TYPE_CHECKING:
    from models.cascade import StyleFeatures  # torch: imported by run_here only
    from models.params import StyleParams

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic", ".heif", ".avif"}
)
"""What a folder or a glob contributes: files named as images (others are left alone)."""
EXTENSIONS = {"png": ".png", "jpeg": ".jpg", "webp": ".webp"}


@dataclass(frozen=True)
class Task:
    """One image to make: ``content`` in the style(s) of ``styles``, into ``output``."""

    content: Path
    styles: tuple[Path, ...]
    output: Path

    def label(self) -> str:
        return f"{self.content.name} × {' + '.join(style.name for style in self.styles)}"


# --- the plan -----------------------------------------------------------------------------


def is_batch(content: str | None, styles: Sequence[str], pairs: Path | None) -> bool:
    """Whether the command line asks for a batch rather than a single image."""
    return pairs is not None or any(_is_many(arg) for arg in (content, *styles) if arg)


def _is_many(argument: str) -> bool:
    """A directory, or a glob; a file that exists is itself, brackets in its name or not."""
    path = Path(argument)
    return path.is_dir() or (not path.is_file() and any(c in argument for c in "*?["))


def expand(argument: str, role: str) -> list[Path]:
    """A file as given; a directory's image files, or a glob's, sorted by name."""
    path = Path(argument)
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if _is_image_file(p))
        where = f"directory {argument}"
    elif _is_many(argument):
        matches = (Path(match) for match in glob.glob(argument, recursive=True))
        found = sorted(match for match in matches if _is_image_file(match))
        where = f"pattern {argument!r}"
    else:
        return [path]
    if not found:
        raise InvalidParameter(
            f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in {where}", field=role
        )
    return found


def _is_image_file(path: Path) -> bool:
    return (
        path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".") and path.is_file()
    )


def read_pairs(path: Path) -> list[tuple[Path, tuple[Path, ...]]]:
    """A ``--pairs`` file: one job a line, ``CONTENT STYLE [STYLE ...]`` as on the command
    line (shell quoting, ``#`` comments); relative paths are relative to the file."""
    try:
        text = path.read_text()
    except OSError as error:
        raise InvalidParameter(
            f"cannot read {path}: {error.strerror or error}", field="pairs"
        ) from None
    jobs = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            words = shlex.split(line, comments=True)
        except ValueError as error:
            raise InvalidParameter(f"{path}:{number}: {error}", field="pairs") from None
        if not words:
            continue
        if len(words) < 2:
            raise InvalidParameter(
                f"{path}:{number}: give CONTENT STYLE [STYLE ...], not {line.strip()!r}",
                field="pairs",
            )
        content, *styles = (path.parent / word for word in words)
        jobs.append((content, tuple(styles)))
    if not jobs:
        raise InvalidParameter(f"{path} lists no jobs", field="pairs")
    return jobs


def plan(
    content: str | None,
    styles: Sequence[str],
    pairs: Path | None,
    output: Path,
    format: str,
    *,
    blend: bool,
) -> list[Task]:
    """The batch's tasks, content by content, each with its output file in ``output``."""
    if output.exists() and not output.is_dir():
        raise InvalidParameter(
            f"{output} is a file; a batch writes into a directory", field="output"
        )
    if output.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp") and not output.is_dir():
        raise InvalidParameter(
            f"a batch writes into a directory, not {output.name!r}; give -o DIR and --format",
            field="output",
        )
    if pairs is not None:
        if content is not None:
            raise InvalidParameter("give --pairs FILE or CONTENT STYLE..., not both", field="pairs")
        jobs = read_pairs(pairs)
    else:
        if content is None or not styles:
            raise InvalidParameter(
                "a batch needs CONTENT and STYLE (or --pairs FILE)", field="style"
            )
        contents = expand(content, "content")
        every_style = [path for arg in styles for path in expand(arg, "style")]
        groups = [tuple(every_style)] if blend else [(style,) for style in every_style]
        jobs = [(c, group) for c in contents for group in groups]
    tasks = [Task(c, group, output / output_name(c, group, format)) for c, group in jobs]
    _refuse_clashes(tasks)
    return tasks


def output_name(content: Path, styles: Sequence[Path], format: str) -> str:
    return f"{content.stem}__{'+'.join(style.stem for style in styles)}{EXTENSIONS[format]}"


def _refuse_clashes(tasks: list[Task]) -> None:
    """Two jobs must not write one file (``a/x.jpg`` and ``b/x.png`` are both ``x``)."""
    seen: dict[Path, Task] = {}
    for task in tasks:
        other = seen.setdefault(task.output, task)
        if other is not task:
            raise InvalidParameter(
                f"{other.label()} ({other.content}) and {task.label()} ({task.content}) would "
                f"both be written to {task.output}; rename one of the files",
                field="output",
            )


def check_blend_options(
    params: "StyleParams", tasks: list[Task], *, blend: bool, mask: bool
) -> None:
    """Mixing options only where jobs mix styles, one weight per style: refused before
    any work otherwise."""
    mixing = "--style-weights" if params.style_weights is not None else "--mask" if mask else None
    if mixing and not blend and all(len(task.styles) == 1 for task in tasks):
        raise InvalidParameter(
            f"{mixing} mixes several styles in one image; add --blend to give each content "
            "all the styles together, or leave it out to make one image per style",
            field="style_weights" if mixing == "--style-weights" else "mask",
        )
    weights = params.style_weights
    odd = next((t for t in tasks if weights and len(t.styles) != len(weights)), None)
    if odd is not None:
        raise InvalidParameter(
            f"{len(weights)} --style-weights for {len(odd.styles)} styles ({odd.label()}); "
            "give one weight per style",
            field="style_weights",
        )


# --- the books ----------------------------------------------------------------------------


class Batch:
    """What a batch has to do and what became of each job: the bar, the failures (each on
    a line of its own as it happens) and the summary."""

    def __init__(self, tasks: list[Task], bars: ProgressBars, *, overwrite: bool) -> None:
        self.tasks = tasks
        self.pending = [task for task in tasks if overwrite or not task.output.exists()]
        self.skipped = len(tasks) - len(self.pending)
        self.done = 0
        self.failures: list[tuple[Task, str]] = []
        self.bars = bars
        self.started = time.perf_counter()

    def start(self) -> None:
        """The clock starts here, once the engine (or the connection) is ready."""
        self.started = time.perf_counter()
        if self.pending:
            self.bars.batch(0, len(self.pending))

    def succeeded(self, task: Task, data: bytes) -> None:
        try:
            write_whole(task.output, data)
        except OSError as error:
            self.failed(task, f"cannot write {task.output}: {error.strerror or error}")
            return
        self.done += 1
        self._advance()

    def failed(self, task: Task, reason: str) -> None:
        self.failures.append((task, reason))
        self.bars.note(f"failed: {task.label()}: {reason}")
        self._advance()

    def _advance(self) -> None:
        finished, total = self.done + len(self.failures), len(self.pending)
        detail = f"{finished}/{total}" + (f", {len(self.failures)} failed" if self.failures else "")
        self.bars.batch(finished, total, detail)

    def summary(self) -> str:
        seconds = time.perf_counter() - self.started
        rate = f", {self.done / seconds:.2f} images/s" if self.done and seconds > 0 else ""
        where = self.tasks[0].output.parent if self.tasks else "."
        return (
            f"{self.done} done, {self.skipped} skipped (already there), {len(self.failures)} "
            f"failed, in {seconds:.1f} s{rate}; outputs in {where}"
        )

    def exit_status(self) -> int:
        return 1 if self.failures else 0


def write_whole(path: Path, data: bytes) -> None:
    """Write under a temporary name, then rename: an interrupted batch leaves no half
    file that a rerun would take for done."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        partial.write_bytes(data)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


# --- in this process ----------------------------------------------------------------------


def run_here(
    batch: Batch, params: "StyleParams", mask_path: Path | None, device: str | None
) -> None:
    """Run the batch on the engine loaded here: one content decoded at a time (tasks come
    content by content), each style decoded and encoded once, on first use."""
    from models import runtime, weights
    from models.images import encode_image, load_image, load_mask
    from models.stylizer import Stylizer

    runtime.configure()
    with weights.download_missing(progress=batch.bars.download):
        stylizer = Stylizer(device=device)
    mask = load_mask(mask_path) if mask_path else None
    features: dict[Path, StyleFeatures] = {}
    content_path, content = None, None
    batch.start()
    for task in batch.pending:
        try:
            if task.content != content_path:
                content_path, content = task.content, None
            if content is None:
                content = load_image(task.content, field="content", longest=params.size)
            styles = []
            for i, path in enumerate(task.styles):
                if path not in features:
                    field = f"style[{i}]" if len(task.styles) > 1 else "style"
                    image = load_image(path, field=field, longest=params.style_size)
                    features[path] = stylizer.encode_style(image, params.style_size, params.method)
                styles.append(features[path])
            result = stylizer.stylize(content, styles, params, mask=mask)
            data = encode_image(result.image, params.format, params.quality)
        except StylizeError as error:
            batch.failed(task, str(error))
            continue
        except MemoryError:
            batch.failed(task, "not enough memory for this size; try a smaller --size")
            continue
        batch.succeeded(task, data)
