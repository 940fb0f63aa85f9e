"""``stylize run``: stylize a picture in this process, with the engine loaded here."""

import argparse
import sys
import time
from pathlib import Path

from cli.progress import ProgressBars
from models.errors import InvalidParameter

_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}


def add_command(commands: argparse._SubParsersAction) -> None:
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
    from models import runtime, weights
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

    runtime.configure()
    show_stages = sys.stderr.isatty() or args.method == "gatys"
    with ProgressBars() as bars, weights.download_missing(progress=bars.download):
        stylizer = Stylizer(device=args.device)
        progress = bars.stage if show_stages else None
        result = stylizer.stylize(content, styles, params, mask=mask, progress=progress)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(encode_image(result.image, fmt, args.quality))
    w, h = result.image.size
    print(
        f"wrote {args.output} ({w}×{h} {fmt}, {args.method}) in {time.perf_counter() - started:.2f} s "
        f"({result.seconds:.2f} s stylizing on {stylizer.device})"
    )
    return 0
