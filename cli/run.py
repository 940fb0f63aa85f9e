"""``stylize run``: stylize a picture, or a batch of them (``cli/batch.py``), with the
engine loaded in this process or on a stylize server (``--server``, ``cli/remote.py``)."""

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.batch import Batch, check_blend_options, is_batch, plan, run_here
from cli.progress import ProgressBars
from cli.video import add_options, is_video, refuse_video_options, run_video
from models.errors import InvalidParameter

if TYPE_CHECKING:
    from models.params import StyleParams

_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}


def add_command(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "run",
        help="stylize a photo (or folders of them) with one or more style images",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="%(prog)s CONTENT STYLE [STYLE ...] -o OUT [options]",
        description=(
            "Repaint CONTENT in the style of STYLE and write the result to OUT. Several\n"
            "styles are mixed in one image (--style-weights, or regions by --mask).\n\n"
            "A batch, when CONTENT or a STYLE is a directory or a glob (quote it, so that\n"
            "stylize expands it), or with --pairs FILE: every content x style, each style\n"
            "its own image (all together with --blend), into the directory OUT as\n"
            "<content>__<style>.<format>. Outputs already there are skipped (--overwrite\n"
            "redoes them); a failed image is reported and the batch goes on; exit status 1\n"
            "if any failed.\n\n"
            "With --server URL (or STYLIZE_SERVER) a running stylize service does the work\n"
            "(API key: STYLIZE_API_KEY); the output is the same.\n\n"
            "examples:\n"
            "  stylize run photo.jpg painting.jpg -o out.png\n"
            "  stylize run photo.jpg painting.jpg -o out.jpg --alpha 0.6 --preserve-color\n"
            "  stylize run photo.jpg a.jpg b.jpg -o mix.png --style-weights 0.7 0.3\n"
            "  stylize run photo.jpg a.jpg b.jpg -o split.png --mask mask.png   # black=a, white=b\n"
            "  stylize run photo.jpg painting.jpg -o slow.png --method gatys --iterations 100\n"
            "  stylize run photos/ paintings/ -o out/                  # every photo x painting\n"
            "  stylize run 'photos/*.heic' painting.jpg -o out/ --format jpeg\n"
            "  stylize run --pairs jobs.txt -o out/        # lines of CONTENT STYLE [STYLE ...]\n"
            "  stylize run photos/ paintings/ -o out/ --server http://127.0.0.1:8000\n"
            "  stylize run clip.mp4 painting.jpg -o out.mp4 [--temporal off]   # a video"
        ),
    )
    run.add_argument(
        "content", nargs="?", metavar="CONTENT",
        help="the photo to repaint; a directory or a glob for a batch",
    )  # fmt: skip
    run.add_argument(
        "styles", nargs="*", metavar="STYLE",
        help="one or more style images; directories or globs for a batch",
    )  # fmt: skip
    run.add_argument("-o", "--output", required=True, metavar="OUT",
                     help="where to write the result; the suffix (.png, .jpg, .webp; for a "
                     "video .mp4, .webm, .webp, .gif) picks the format. For a batch, a "
                     "directory")  # fmt: skip
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
        choices=["png", "jpeg", "webp", "mp4", "webm", "gif"],
        help="output format (default: from OUT's suffix; png for a batch): png, jpeg, webp "
        "for a photo; mp4, webm, webp, gif for a video",
    )
    add_options(run)
    run.add_argument("--quality", type=int, default=90, help="JPEG/WebP quality 1-100 (default 90)")
    run.add_argument(
        "--device", help="cpu, cuda or cuda:N (default: cuda when available, else cpu)"
    )
    batch = run.add_argument_group("batches")
    batch.add_argument("--pairs", type=Path, metavar="FILE",
                       help="the jobs, one a line: CONTENT STYLE [STYLE ...] (shell quoting, # "
                       "comments; paths relative to FILE); several styles on a line are mixed")  # fmt: skip
    batch.add_argument("--blend", action="store_true",
                       help="give each content all the styles together (with --style-weights "
                       "or --mask), one image per content")  # fmt: skip
    batch.add_argument("--overwrite", action="store_true", help="redo outputs that exist")
    server = run.add_argument_group("on a server")
    server.add_argument("--server", metavar="URL", default=os.environ.get("STYLIZE_SERVER") or None,
                        help="run on the stylize service at URL (default $STYLIZE_SERVER); "
                        "its API key from $STYLIZE_API_KEY")  # fmt: skip
    server.add_argument("--concurrency", type=_positive, default=4, metavar="N",
                        help="a batch's jobs in flight on the server at once (default 4)")  # fmt: skip
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


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def _run(args: argparse.Namespace) -> int:
    if is_batch(args.content, args.styles, args.pairs):
        return _run_batch(args)
    return _run_one(args)


def _run_one(args: argparse.Namespace) -> int:
    """One image: CONTENT in the style(s) of STYLE... into the file OUT."""
    from models.params import parse_params

    started = time.perf_counter()
    if args.content is None or not args.styles:
        raise InvalidParameter(
            "give CONTENT and at least one STYLE (or --pairs FILE)", field="style"
        )
    output = Path(args.output)
    if is_video(Path(args.content)):
        if args.server:
            raise InvalidParameter(
                "a video with --server is not supported by the command line yet: send it "
                "with the Python client or curl (POST /stylize), or run it here",
                field="server",
            )
        return run_video(
            args, Path(args.content), [Path(s) for s in args.styles], output, style_fields(args)
        )
    refuse_video_options(args)
    if output.is_dir() or args.output.endswith(("/", os.sep)):
        raise InvalidParameter(
            f"{output} is a directory: a single run writes one file. For a batch, give "
            "CONTENT or STYLE as a directory or a quoted glob ('photos/*.jpg', so that "
            "stylize expands it, not the shell)",
            field="output",
        )
    fmt = args.format or _FORMATS.get(output.suffix.lower())
    if fmt is None:
        raise InvalidParameter(
            f"cannot tell the format from {output.name!r}; use .png, .jpg or .webp, or --format",
            field="output",
        )
    raw = _raw_params(args, fmt)
    params = parse_params(raw)
    content, styles = Path(args.content), [Path(style) for style in args.styles]
    show_stages = sys.stderr.isatty() or args.method == "gatys"
    if args.server:
        from cli import remote  # the client: imported only for --server

        data, size, seconds = remote.run_one(
            args.server, content, styles, args.mask, raw, show_stages
        )
        where = args.server
    else:
        data, size, seconds, where = _stylize_here(args, params, content, styles, show_stages)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    w, h = size
    print(
        f"wrote {output} ({w}×{h} {fmt}, {args.method}) in {time.perf_counter() - started:.2f} s "
        f"({seconds:.2f} s stylizing on {where})"
    )
    return 0


def _stylize_here(
    args: argparse.Namespace,
    params: "StyleParams",
    content: Path,
    styles: list[Path],
    show_stages: bool,
) -> tuple[bytes, tuple[int, int], float, str]:
    """The encoded image, its size, the seconds spent stylizing, and where (the device and
    the networks' precision)."""
    from models import runtime, weights
    from models.images import encode_image, load_image, load_mask
    from models.stylizer import Stylizer  # torch is imported only for a local run

    image = load_image(content, field="content", longest=params.size)
    style_images = [
        load_image(p, field=f"style[{i}]", longest=params.style_size) for i, p in enumerate(styles)
    ]
    mask = load_mask(args.mask) if args.mask else None
    runtime.configure()
    with ProgressBars() as bars, weights.download_missing(progress=bars.download):
        stylizer = Stylizer(device=args.device)
        progress = bars.stage if show_stages else None
        result = stylizer.stylize(image, style_images, params, mask=mask, progress=progress)
    data = encode_image(result.image, params.format, params.quality)
    return data, result.image.size, result.seconds, f"{stylizer.device}, {stylizer.precision}"


def _run_batch(args: argparse.Namespace) -> int:
    """Every content × style (or each --pairs line) into the directory OUT."""
    from models.params import parse_params

    fmt = args.format or "png"
    raw = _raw_params(args, fmt)
    params = parse_params(raw)
    tasks = plan(args.content, args.styles, args.pairs, Path(args.output), fmt, blend=args.blend)
    check_blend_options(params, tasks, blend=args.blend, mask=args.mask is not None)
    with ProgressBars() as bars:
        batch = Batch(tasks, bars, overwrite=args.overwrite)
        if batch.pending and args.server:
            from cli import remote  # the client: imported only for --server

            remote.run_batch(args.server, batch, raw, args.mask, args.concurrency)
        elif batch.pending:
            run_here(batch, params, args.mask, args.device)
    print(batch.summary())
    return batch.exit_status()


def _raw_params(args: argparse.Namespace, fmt: str) -> dict[str, Any]:
    """The parameters as ``models.params.parse_params`` (and the API) take them."""
    gatys = {k: v for k, v in (("iterations", args.iterations), ("max_seconds", args.max_seconds),
             ("init", args.init), ("optimizer", args.optimizer), ("seed", args.seed)) if v is not None}  # fmt: skip
    return {**style_fields(args), "format": fmt, "quality": args.quality, "gatys": gatys}


def style_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The fields an image and a video run share, as the parameter parsers take them."""
    return {
        "method": args.method,
        "alpha": args.alpha,
        "preserve_color": args.preserve_color,
        "style_weights": args.style_weights,
        "size": args.size or None,
        "style_size": args.style_size or None,
    }
