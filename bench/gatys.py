"""Gatys benchmark: seconds per iteration, peak memory, and quality beside plain AdaIN.

Speed: for each size (longest side) and optimiser, a refinement run (init adain) of a
few iterations; seconds per iteration are timed between progress events, so style
encoding and the AdaIN start are not counted. The first L-BFGS iteration is reported
apart: its line search starts from a tiny step and takes several evaluations. Peak RSS is
the process's high-water mark after each size (sizes run in increasing order).

Quality: bench/quality.py's content and style distances (its ``Scorer``) for plain AdaIN,
Gatys refinement from AdaIN (default parameters) and Gatys from the content, over a spread
of development pairs (each content once, a different style each time; ``--all`` for every
pair), plus a contact sheet and a JSON of every score in bench/out/.

    python bench/gatys.py                         # speed at 512 and 1024, quality on 5 pairs
    python bench/gatys.py --skip-speed --pairs 2 --size 256
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.memory import peak_rss_mb  # noqa: E402
from bench.quality import Scorer, contact_sheet  # noqa: E402
from models import runtime  # noqa: E402
from models.images import load_image, resize_longest  # noqa: E402
from models.params import GatysParams, StyleParams  # noqa: E402
from models.stylizer import Stylizer  # noqa: E402
from models.types import ProgressEvent  # noqa: E402

SHARED = ROOT.parent / "shared"


def peak_rss_gb() -> float:
    return peak_rss_mb() / 1024


def time_iterations(
    stylizer: Stylizer, content: Image.Image, style: Image.Image, size: int, optimizer: str, n: int
) -> tuple[float, float]:
    """(seconds of the first iteration, median seconds of the later ones)."""
    stamps: dict[int, float] = {}

    def on_progress(event: ProgressEvent) -> None:
        if event.stage == "optimise" and event.iteration is not None:
            stamps[event.iteration] = time.perf_counter()

    gatys = GatysParams(init="adain", optimizer=optimizer, iterations=n, tolerance=0)
    params = StyleParams(method="gatys", size=size, style_size=size, gatys=gatys)
    stylizer.stylize(content, [style], params, progress=on_progress)
    laps = [stamps[i] - stamps[i - 1] for i in range(1, n + 1)]
    return laps[0], statistics.median(laps[1:])


def speed(stylizer: Stylizer, sizes: list[int], iterations: dict[int, int]) -> None:
    content = load_image(SHARED / "testdata/content/cornell.jpg")
    style = load_image(SHARED / "testdata/style/woman_with_hat_matisse.jpg")
    print("| longest side | optimiser | first iteration s | s / iteration | peak RSS GB |")
    print("|---|---|---|---|---|")
    for size in sorted(sizes):
        n = iterations.get(size, 3)
        for optimizer in ("lbfgs", "adam"):
            first, later = time_iterations(stylizer, content, style, size, optimizer, n)
            print(f"| {size} | {optimizer} | {first:.1f} | {later:.1f} | {peak_rss_gb():.2f} |")
    print()


def development_pairs(everything: bool) -> list[tuple[Path, Path]]:
    contents = sorted((SHARED / "testdata/content").iterdir())
    styles = sorted((SHARED / "testdata/style").iterdir())
    if everything:
        return [(c, s) for c in contents for s in styles]
    return [(c, styles[(2 * i) % len(styles)]) for i, c in enumerate(contents)]


def quality(
    stylizer: Stylizer, pairs: list[tuple[Path, Path]], size: int, args: argparse.Namespace
) -> None:
    scorer = Scorer(stylizer.device)
    weights = {k: v for k, v in (("style_weight", args.style_weight),) if v is not None}
    refine = GatysParams(init="adain", **weights)
    from_content = GatysParams(init="content", iterations=args.content_iterations, **weights)
    variants = {
        "adain": StyleParams(size=size, style_size=size),
        "gatys refine (adain)": StyleParams(
            method="gatys", size=size, style_size=size, gatys=refine
        ),
        "gatys from content": StyleParams(
            method="gatys", size=size, style_size=size, gatys=from_content
        ),
    }
    if args.skip_content:
        del variants["gatys from content"]
    scores: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    rows = []
    for content_path, style_path in pairs:
        content = resize_longest(load_image(content_path), size)
        style = resize_longest(load_image(style_path), size)
        content_feats = scorer.content(content_path.stem, content)
        style_stats = scorer.style(style_path.stem, style)
        row = [content, style]
        for name, params in variants.items():
            started = time.perf_counter()
            result = stylizer.stylize(content, [style], params)
            score = scorer.score(result.image, content_feats, style_stats)
            score.update(seconds=time.perf_counter() - started, iterations=result.iterations or 0)
            scores[name].append(score)
            row.append(result.image)
            print(f"  {content_path.stem} × {style_path.stem}: {name} {_fmt(score)}", flush=True)
        rows.append(row)

    print(f"\n{len(pairs)} pairs, longest side {size}, device {stylizer.device}\n")
    print(
        "| method | content median | style median | content mean | style mean | iterations | s/image |"
    )
    print("|---|---|---|---|---|---|---|")
    summary = {}
    for name, s in scores.items():
        med = {k: statistics.median(d[k] for d in s) for k in s[0]}
        mean = {k: statistics.fmean(d[k] for d in s) for k in s[0]}
        print(
            f"| {name} | {med['content']:.3f} | {med['style']:.3f} | {mean['content']:.3f} | "
            f"{mean['style']:.3f} | {med['iterations']:.0f} | {med['seconds']:.1f} |"
        )
        summary[name] = {"median": med, "mean": mean, "pairs": s}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gatys.json").write_text(json.dumps(summary, indent=1))
    sheet = args.out / "gatys_sheet.png"
    contact_sheet(rows, ["content", "style", *variants], sheet, thumb=args.thumb)
    print(f"\ncontact sheet: {sheet}")


def _fmt(score: dict[str, float]) -> str:
    return " ".join(
        f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in score.items()
    )


def main() -> None:
    os.environ.setdefault(
        "STYLIZE_WEIGHTS_DIR", str(SHARED / "weights")
    )  # as the README's commands
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="*", type=int, default=[512, 1024])
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--size", type=int, default=512, help="longest side for quality")
    parser.add_argument("--pairs", type=int, default=0, help="only the first N pairs")
    parser.add_argument("--all", action="store_true", help="every content × style pair")
    parser.add_argument("--content-iterations", type=int, default=150)
    parser.add_argument("--style-weight", type=float, default=None, help="default: GatysParams'")
    parser.add_argument("--skip-content", action="store_true", help="no gatys from content")
    parser.add_argument("--thumb", type=int, default=256)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--device", default=None)
    args = parser.parse_args()

    torch.manual_seed(0)
    runtime.configure()  # as a worker does
    stylizer = Stylizer(device=args.device)
    if not args.skip_speed:
        speed(stylizer, args.sizes, {512: 6, 1024: 3})
    if not args.skip_quality:
        pairs = development_pairs(args.all)
        quality(stylizer, pairs[: args.pairs] if args.pairs else pairs, args.size, args)


if __name__ == "__main__":
    main()
