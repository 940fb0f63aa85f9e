"""Poster benchmark: a 4096-px content through the engine's front door, straight vs poster.

Each configuration runs in a child process of its own (its peak RSS is its own: the
child reports its peak RSS, ``bench/memory.py``'s, and its RSS after loading the
networks), stylizes one content × style pair at ``--side`` and saves the output under
``bench/out/poster/``. Configurations:

- ``straight``: the whole cascade on the whole image (the poster path switched off);
- ``poster``: the engine's default above ``models.poster.POSTER_PIXELS``;
- ``poster:deep=N``: the deep steps at longest side N; ``poster:l2=N``: level 2 at
  longest side N, ``l2=0`` at full resolution; ``poster:band=N``: N pixels per band
  (options joined by commas: ``poster:deep=2048,l2=0``).

The content is centre-cropped to a square first (``--no-square`` keeps its shape).

Then, against the straight output (``bench/quality.py``'s measures, real VGG-19):

- style distance and relative Gram error at the poster's scale: the output downsampled to
  1024 px (the print seen whole), and at its own scale: the mean over four 512-px tiles
  taken at native resolution;
- a seam check at the first band boundary of level 1 and of level 2 (at its own side,
  scaled to the poster's): a crop across it, straight (left) and poster (right) side by
  side, 2× enlarged (``seam_<config>_row<r>.png``), and the mean
  absolute difference between the two rows either side of the boundary against the
  same measure on the rows around it (1.0 = the boundary row is like any other).

    python bench/poster.py                       # straight and poster, 4096 px
    python bench/poster.py --configs poster poster:l2=0 --no-straight
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
OUT = ROOT / "bench" / "out" / "poster"


def square(image):  # noqa: ANN001, ANN201
    """The centre square of a PIL image."""
    w, h = image.size
    side = min(w, h)
    return image.crop(((w - side) // 2, (h - side) // 2, (w + side) // 2, (h + side) // 2))


def run_one(config: str, content: str, style: str, side: int, squared: bool) -> dict:
    """In the child: one stylization at ``side``, timed, output saved."""
    sys.path.insert(0, str(ROOT))
    import functools

    from bench.memory import peak_rss_mb, rss_mb
    from models import poster, runtime
    from models.images import load_image
    from models.params import StyleParams
    from models.stylizer import Stylizer

    runtime.configure()  # as a worker does
    if config == "straight":
        poster.POSTER_PIXELS = 1 << 62
    elif ":" in config:
        options = dict(o.split("=") for o in config.split(":", 1)[1].split(","))
        shallow = dict(poster.SHALLOW_SIDES)
        shallow.update({int(k[1:]): int(v) or 1 << 30 for k, v in options.items() if k[0] == "l"})
        poster.run_poster = functools.partial(
            poster.run_poster,
            deep_side=int(options.get("deep", poster.DEEP_SIDE)),
            shallow_sides=shallow,
            band_pixels=int(options.get("band", poster.BAND_PIXELS)),
        )
    stylizer = Stylizer()
    loaded = rss_mb()
    content_image = load_image(SHARED / "testdata/content" / content)
    if squared:
        content_image = square(content_image)
    style_image = load_image(SHARED / "testdata/style" / style)
    params = StyleParams(size=side)  # the default method (wct), style at 512
    cpu = time.process_time()
    result = stylizer.stylize(content_image, [style_image], params)
    cpu = time.process_time() - cpu
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{config.replace(':', '_')}.png"
    result.image.save(path)
    return {
        "config": config,
        "precision": stylizer.precision,
        "seconds": result.seconds,
        "cpu_seconds": cpu,
        "peak_rss_mb": peak_rss_mb(),
        "loaded_rss_mb": loaded,
        "size": result.image.size,
        "path": str(path),
    }


def seam_ratio(straight, poster, row: int) -> tuple[float, float]:  # noqa: ANN001
    """Mean |row r − row r−1| at the boundary over the median of the same across rows
    row−24 … row+24, for the poster output (first) and the straight one (second)."""
    import numpy as np

    def ratio(image) -> float:  # noqa: ANN001
        a = np.asarray(image.convert("L"), dtype=np.float32)
        steps = np.abs(np.diff(a[row - 24 : row + 25], axis=0)).mean(axis=1)
        return float(steps[24] / max(statistics.median(steps), 1e-6))

    return ratio(poster), ratio(straight)


def seam_crop(straight, poster, row: int, config: str) -> Path:  # noqa: ANN001
    from PIL import Image, ImageDraw

    left_edge = straight.size[0] // 2 - 96
    box = (left_edge, row - 96, left_edge + 192, row + 96)
    left, right = straight.crop(box), poster.crop(box)
    sheet = Image.new("RGB", (2 * 2 * 192 + 8, 2 * 192), "white")
    sheet.paste(left.resize((384, 384), Image.NEAREST), (0, 0))
    sheet.paste(right.resize((384, 384), Image.NEAREST), (392, 0))
    draw = ImageDraw.Draw(sheet)
    for x0 in (0, 392):  # ticks at the boundary row, outside the picture's middle
        draw.line([(x0, 192), (x0 + 12, 192)], fill="red", width=1)
    path = OUT / f"seam_{config.replace(':', '_')}_row{row}.png"
    sheet.save(path)
    return path


def score(outputs: dict[str, dict], style_name: str) -> dict[str, dict]:
    """Style and Gram distances per output: downsampled to 1024, and on native tiles."""
    sys.path.insert(0, str(ROOT))
    import torch
    from PIL import Image

    from bench.quality import Scorer
    from models.images import load_image, resize_longest

    scorer = Scorer(torch.device("cpu"))
    style = resize_longest(load_image(SHARED / "testdata/style" / style_name), 512)
    reference = scorer.style("s", style)
    scores = {}
    for name, row in outputs.items():
        image = Image.open(row["path"]).convert("RGB")
        small = resize_longest(image, 1024)
        # The content measure is not reported: each image stands in as its own content.
        whole = scorer.score(small, scorer.content(f"{name} whole", small), reference)
        w, h = image.size
        tiles = [
            image.crop((x, y, x + 512, y + 512))
            for x, y in ((w // 4, h // 4), (w // 2, h // 4), (w // 4, h // 2), (w // 2, h // 2))
        ]
        tile_scores = [
            scorer.score(t, scorer.content(f"{name} {i}", t), reference)
            for i, t in enumerate(tiles)
        ]
        scores[name] = {
            "style_1024": whole["style"],
            "gram_1024": whole["gram"],
            "style_tiles": statistics.mean(s["style"] for s in tile_scores),
            "gram_tiles": statistics.mean(s["gram"] for s in tile_scores),
        }
    return scores


def main() -> None:
    os.environ.setdefault(
        "STYLIZE_WEIGHTS_DIR", str(SHARED / "weights")
    )  # as the README's commands
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--configs", nargs="+", default=["poster"])
    parser.add_argument("--no-straight", action="store_true", help="reuse bench/out's straight")
    parser.add_argument("--side", type=int, default=4096)
    parser.add_argument("--content", default="chicago.jpg")
    parser.add_argument("--style", default="brushstrokes.jpg")
    parser.add_argument("--no-square", action="store_true", help="keep the content's shape")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        squared = not args.no_square
        print(json.dumps(run_one(args.one, args.content, args.style, args.side, squared)))
        return
    configs = args.configs if args.no_straight else ["straight", *args.configs]
    rows: dict[str, dict] = {}
    cached = OUT / "runs.json"
    if args.no_straight and cached.exists():
        rows["straight"] = json.loads(cached.read_text())["straight"]
    for config in configs:
        command = [sys.executable, __file__, "--one", config, "--side", str(args.side)]
        command += ["--content", args.content, "--style", args.style]
        command += ["--no-square"] if args.no_square else []
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        rows[config] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{config}: {rows[config]['seconds']:.1f} s", file=sys.stderr)
    OUT.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(rows, indent=1))

    from PIL import Image

    sys.path.insert(0, str(ROOT))
    from models import poster

    scores = score(rows, args.style)
    straight = Image.open(rows["straight"]["path"]).convert("RGB")
    width, height = straight.size
    level2 = poster.SHALLOW_SIDES.get(2, height)
    boundaries = [
        poster._bands(height, 1, poster.BAND_PIXELS // width)[0][1],
        poster._bands(level2, 2, poster.BAND_PIXELS // level2)[0][1] * height // level2,
    ]
    base = scores["straight"]
    # A straight run cached before the precision was recorded ran in float32.
    precisions = sorted({row.get("precision", "float32") for row in rows.values()})
    print(
        f"\ncontent {args.content} × style {args.style}, longest side {args.side}, "
        f"networks in {', '.join(precisions)}\n"
    )
    print(
        "| configuration | time (s) | CPU time (s) | peak RSS (MB) | style @1024 (vs straight)"
        " | Gram @1024 | style, native tiles (vs straight) | seam ratio at rows "
        f"{' / '.join(map(str, boundaries))} (straight's) | seam crops |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        s = scores[name]
        seam, crop = "–", "–"
        if name != "straight":
            image = Image.open(row["path"]).convert("RGB")
            ratios = [seam_ratio(straight, image, r) for r in boundaries]
            seam = " / ".join(f"{ours:.2f} ({theirs:.2f})" for ours, theirs in ratios)
            crop = ", ".join(
                str(seam_crop(straight, image, r, name).relative_to(ROOT)) for r in boundaries
            )
        print(
            f"| {name} | {row['seconds']:.1f} | {row['cpu_seconds']:.1f} | "
            f"{row['peak_rss_mb']:.0f} | {s['style_1024']:.3f} "
            f"({s['style_1024'] / base['style_1024'] - 1:+.0%}) | {s['gram_1024']:.3f} | "
            f"{s['style_tiles']:.3f} ({s['style_tiles'] / base['style_tiles'] - 1:+.0%}) | "
            f"{seam} | {crop} |"
        )


if __name__ == "__main__":
    main()
