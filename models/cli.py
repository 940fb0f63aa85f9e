"""The ``stylize`` command line.

    stylize run CONTENT STYLE [STYLE ...] -o OUT   stylize one picture
    stylize weights list                     which weight files are present and intact
    stylize weights fetch [NAME ...]         download them (or --mirror URL)
    stylize weights import DIR               copy them from a local directory

Each subcommand is a small handler ``_name(args) -> exit code`` registered with
``set_defaults(handler=...)``; add a command by writing an ``_add_..._commands`` function
and calling it from ``build_parser``. Engine errors become one line on stderr and exit 1.
"""

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from models import weights
from models.errors import InvalidParameter, StylizeError


def build_parser(
    extra: Callable[[argparse._SubParsersAction], None] | None = None,
) -> argparse.ArgumentParser:
    """The ``stylize`` parser; ``extra(commands)`` lets another package add subcommands
    (the workers add ``up`` and ``worker``) without the engine importing them."""
    parser = argparse.ArgumentParser(
        prog="stylize",
        description="Arbitrary style transfer (AdaIN, WCT, Gatys) on pretrained VGG-19 weights.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run_command(commands)
    _add_weights_commands(commands)
    if extra is not None:
        extra(commands)
    return parser


def main(argv: list[str] | None = None, parser: argparse.ArgumentParser | None = None) -> int:
    args = (parser or build_parser()).parse_args(argv)
    try:
        return args.handler(args)
    except (StylizeError, OSError) as error:  # OSError: e.g. --dest not writable
        print(f"stylize: error: {error}", file=sys.stderr)
        return 1


# --- stylize run --------------------------------------------------------------------------

_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}


def _add_run_command(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "run",
        help="stylize a content photo with one or more style images",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Repaint CONTENT in the style of STYLE and write the result to OUT.\n\n"
            "examples:\n"
            "  stylize run photo.jpg painting.jpg -o out.png\n"
            "  stylize run photo.jpg painting.jpg -o out.jpg --alpha 0.6 --preserve-color\n"
            "  stylize run photo.jpg a.jpg b.jpg -o mix.png --style-weights 0.7 0.3\n"
            "  stylize run photo.jpg a.jpg b.jpg -o split.png --mask mask.png   # black=a, white=b\n"
            "  stylize run photo.jpg painting.jpg -o slow.png --method gatys --iterations 100"
        ),
    )
    run.add_argument("content", type=Path, help="the photo to repaint")
    run.add_argument(
        "styles", type=Path, nargs="+", metavar="STYLE", help="one or more style images"
    )
    run.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                     help="where to write the result; the suffix (.png, .jpg, .webp) picks the format")  # fmt: skip
    run.add_argument("--method", default="wct", choices=["adain", "wct", "gatys"],
                     help="wct: whitening-colouring, fast and faithful to the style (default); "
                     "adain: gentler, keeps more of the photo; gatys: slow pixel optimisation, "
                     "by default refining an adain result")  # fmt: skip
    run.add_argument(
        "--alpha", type=float, default=1.0, help="style strength from 0 (content) to 1 (default 1)"
    )
    run.add_argument(
        "--preserve-color",
        action="store_true",
        help="keep the photo's colours, take only the style's texture",
    )
    run.add_argument(
        "--style-weights",
        type=float,
        nargs="+",
        metavar="W",
        help="one weight per style image, to mix styles",
    )
    run.add_argument("--mask", type=Path, help="greyscale image assigning styles to regions (black = first style); "
                     "same aspect ratio as the content")  # fmt: skip
    run.add_argument(
        "--size",
        type=int,
        default=512,
        help="longest side of the output in pixels (default 512; 0 keeps the photo's size)",
    )
    run.add_argument(
        "--style-size",
        type=int,
        default=512,
        help="longest side the style is read at (default 512)",
    )
    run.add_argument(
        "--format",
        choices=["png", "jpeg", "webp"],
        help="output format (default: from OUT's suffix)",
    )
    run.add_argument("--quality", type=int, default=90, help="JPEG/WebP quality 1-100 (default 90)")
    run.add_argument(
        "--device", help="cpu, cuda or cuda:N (default: cuda when available, else cpu)"
    )
    gatys = run.add_argument_group("gatys options")
    gatys.add_argument("--iterations", type=int, help="maximum optimisation iterations")
    gatys.add_argument("--max-seconds", type=float, help="stop optimising after this many seconds")
    gatys.add_argument(
        "--init",
        choices=["content", "noise", "adain", "wct"],
        help="starting image (default adain)",
    )
    gatys.add_argument("--optimizer", choices=["lbfgs", "adam"], help="optimiser (default lbfgs)")
    gatys.add_argument("--seed", type=int, help="seed for --init noise")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import time

    from models.images import encode_image, load_image, load_mask
    from models.params import parse_params

    started = time.perf_counter()
    fmt = args.format or _FORMATS.get(args.output.suffix.lower())
    if fmt is None:
        raise InvalidParameter(
            f"cannot tell the format from {args.output.name!r}; use .png, .jpg or .webp, or --format",
            field="output",
        )
    gatys = {k: v for k, v in (("iterations", args.iterations), ("max_seconds", args.max_seconds),
             ("init", args.init), ("optimizer", args.optimizer), ("seed", args.seed)) if v is not None}  # fmt: skip
    params = parse_params(
        {
            "method": args.method,
            "alpha": args.alpha,
            "preserve_color": args.preserve_color,
            "style_weights": args.style_weights,
            "size": args.size or None,
            "style_size": args.style_size or None,
            "format": fmt,
            "quality": args.quality,
            "gatys": gatys,
        }
    )
    content = load_image(args.content, field="content")
    styles = [load_image(p, field=f"style[{i}]") for i, p in enumerate(args.styles)]
    mask = load_mask(args.mask) if args.mask else None

    from models.stylizer import Stylizer  # torch is imported only for `run`

    stylizer = Stylizer(device=args.device)
    bar = _StageBar() if sys.stderr.isatty() or args.method == "gatys" else None
    try:
        result = stylizer.stylize(content, styles, params, mask=mask, progress=bar)
    finally:
        if bar:
            bar.close()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(encode_image(result.image, fmt, args.quality))
    w, h = result.image.size
    print(
        f"wrote {args.output} ({w}×{h} {fmt}, {args.method}) in {time.perf_counter() - started:.2f} s "
        f"({result.seconds:.2f} s stylizing on {stylizer.device})"
    )
    return 0


class _StageBar:
    """``optimise [#######.....]  42/60  loss 1.23e+00`` on stderr, redrawn in place."""

    def __init__(self) -> None:
        self.active = False

    def __call__(self, event) -> None:  # ProgressEvent; untyped here to keep torch out of imports
        filled = int(30 * event.fraction)
        line = f"\r{event.stage:<12} [{'#' * filled}{'.' * (30 - filled)}] {event.fraction:4.0%}"
        if event.iteration is not None and event.total:
            line += f"  {event.iteration}/{event.total}"
        if event.losses and "total" in event.losses:
            line += f"  loss {event.losses['total']:.3g}"
        sys.stderr.write(line.ljust(79))
        sys.stderr.flush()
        self.active = True

    def close(self) -> None:
        if self.active:
            sys.stderr.write("\n")


# --- stylize weights ----------------------------------------------------------------------


def _add_weights_commands(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser(
        "weights",
        help="list, download or import the pretrained weight files",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "The engine needs pretrained weight files (published PyTorch state dicts,\n"
            "listed with their SHA-256 in models/manifest.json). It looks for them in\n"
            "  1. $STYLIZE_WEIGHTS_DIR, if set (e.g. ../shared/weights), then\n"
            "  2. the cache directory: $STYLIZE_CACHE_DIR, else $XDG_CACHE_HOME/stylize/weights,\n"
            "     else ~/.cache/stylize/weights.\n"
            "A file is used only if its size and SHA-256 match the manifest.\n"
            "`fetch` and `import` put verified copies in the cache directory."
        ),
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser(
        "list",
        help="show each weight file: state (ok / missing / corrupt), size, location, licence",
    )
    listing.set_defaults(handler=_weights_list)

    fetch = actions.add_parser(
        "fetch",
        help="download weight files that are missing or corrupt",
        description="Download weight files, check their SHA-256 and store them. Files "
        "already present and intact are skipped.",
    )
    fetch.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="which files, e.g. vgg19-cd16x/encoder_relu5_1 (default: all; names are in "
        "`stylize weights list`)",
    )
    fetch.add_argument(
        "--mirror",
        metavar="URL",
        help="download URL/<family>/<file>.pth instead of the upstream URLs, from a mirror "
        "laid out like ../shared/weights (http://, https:// or file://)",
    )
    _add_dest_option(fetch)
    fetch.set_defaults(handler=_weights_fetch)

    importing = actions.add_parser(
        "import",
        help="copy weight files from a local directory (e.g. ../shared/weights)",
        description="Copy every known weight file found in DIR, checking each SHA-256; a "
        "corrupt file is refused and not copied.",
    )
    importing.add_argument(
        "dir",
        type=Path,
        metavar="DIR",
        help="a directory laid out like ../shared/weights (vgg19-cd16x/…, vgg19-normalised/…)",
    )
    _add_dest_option(importing)
    importing.set_defaults(handler=_weights_import)


def _add_dest_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dest",
        type=Path,
        metavar="DIR",
        help="where to store the files (default: the cache directory, "
        f"currently {weights.cache_dir()})",
    )


def _weights_list(args: argparse.Namespace) -> int:
    status = weights.status()
    rows = [("NAME", "STATE", "SIZE", "LOCATION", "LICENCE")]
    for wf, path, state in status:
        rows.append((wf.name, state, _human_size(wf.bytes), str(path or "-"), wf.license))
    widths = [max(len(cell) for cell in column) for column in zip(*rows, strict=True)]
    for row in rows:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print(line.rstrip())
    print(f"\nsearched, in order: {', '.join(str(d) for d in weights.search_dirs())}")
    unusable = sum(state != "ok" for _, _, state in status)
    if unusable:
        print(
            f"{unusable} of {len(status)} files missing or corrupt; fix with "
            "`stylize weights fetch` or `stylize weights import ../shared/weights`"
        )
    return 0


def _weights_fetch(args: argparse.Namespace) -> int:
    bar = _ProgressBar()
    try:
        paths = weights.fetch(args.names or None, dest=args.dest, mirror=args.mirror, progress=bar)
    finally:
        bar.close()
    print(f"{len(paths)} weight file(s) verified in {args.dest or weights.cache_dir()}")
    return 0


def _weights_import(args: argparse.Namespace) -> int:
    paths = weights.import_dir(args.dir, dest=args.dest)
    print(f"{len(paths)} weight file(s) verified in {args.dest or weights.cache_dir()}")
    return 0


class _ProgressBar:
    """``name [#########.........]  1.2 MiB / 3.7 MiB`` on stderr.

    On a terminal the line is redrawn in place at each whole percent; in a log (not a
    terminal) only the finished line is written, one per file.
    """

    width = 30

    def __init__(self) -> None:
        self._interactive = sys.stderr.isatty()
        self._drawn: tuple[str, int] | None = None  # (name, percent) of the line on screen

    def __call__(self, name: str, done: int, total: int) -> None:
        percent = min(100, 100 * done // total) if total else 100
        finished = done >= total
        if (name, percent) == self._drawn or not (self._interactive or finished):
            return
        filled = self.width * percent // 100
        bar = "#" * filled + "." * (self.width - filled)
        line = f"{name:<32} [{bar}] {_human_size(done):>9} / {_human_size(total)}"
        print(f"\r{line}", end="\n" if finished else "", file=sys.stderr, flush=True)
        self._drawn = None if finished else (name, percent)

    def close(self) -> None:
        """End a line left open by a download that failed half-way."""
        if self._drawn is not None:
            print(file=sys.stderr)
            self._drawn = None


def _human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


if __name__ == "__main__":  # `python -m models.cli`, for a checkout that is not installed
    sys.exit(main())
