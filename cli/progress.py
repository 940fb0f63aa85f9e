"""Progress bars on stderr for ``stylize run`` and ``stylize weights``, drawn by rich.

One bar per weight file being downloaded, one for the job's stages (encode, each
cascade level, each Gatys iteration) and, for a batch, one over all its images; each
with its elapsed time and an estimate of the time left. On a terminal they are redrawn in place; in a log (not a terminal) rich
writes each bar once, finished, when the block ends.
"""

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from models.types import ProgressEvent


class ProgressBars:
    """``with ProgressBars() as bars:`` then ``bars.download`` (a ``models.weights.Progress``),
    ``bars.stage`` (a ``models.types.ProgressCallback``), ``bars.batch`` and ``bars.note``."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<36}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._downloads: dict[str, TaskID] = {}
        self._stages: TaskID | None = None
        self._batch: TaskID | None = None
        self._started = False

    def __enter__(self) -> "ProgressBars":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._started:
            self.progress.stop()

    def _add(self, description: str, total: float) -> TaskID:
        if not self._started:  # drawn from the first bar on: no bar, no output at all
            self.progress.start()
            self._started = True
        return self.progress.add_task(description, total=total, detail="")

    def download(self, name: str, done: int, total: int) -> None:
        task = self._downloads.get(name)
        if task is None:
            task = self._add(f"download {name}", total)
            self._downloads[name] = task
        self.progress.update(task, completed=done, detail=f"{_mib(done)} / {_mib(total)}")

    def stage(self, event: ProgressEvent) -> None:
        if self._stages is None:
            self._stages = self._add(event.stage, 1.0)
        detail = ""
        if event.iteration is not None and event.total:
            detail = f"{event.iteration}/{event.total}"
        if event.losses and "total" in event.losses:
            detail += f"  loss {event.losses['total']:.3g}"
        self.progress.update(
            self._stages, completed=event.fraction, description=event.stage, detail=detail
        )

    def batch(self, done: int, total: int, detail: str = "") -> None:
        """A batch's bar: ``done`` of ``total`` images finished (either way)."""
        if self._batch is None:
            self._batch = self._add("batch", total)
        self.progress.update(self._batch, completed=done, total=total, detail=detail)

    def note(self, line: str) -> None:
        """A line of its own above the bars (a batch's failures), kept in the scrollback."""
        self.progress.console.print(line, markup=False, highlight=False, soft_wrap=True)


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"
