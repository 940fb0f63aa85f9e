"""Fine-tune a cd16x decoder on the tuning split's pictures, and measure it (issue 18).

Why: the published cd16x decoders (Wang et al. 2020) upsample nearest ×2 after conv41,
conv31 and conv21 and leave a fine grid in flat areas (sky, bokeh); run bilinear as they
are they blur (style ×2, Gram ×3, bench/RESULTS.md). Here a decoder starts from its
published weights and learns again to invert its frozen encoder, with the upsampling
chosen, on random crops of the *tuning* images of ``bench/dataset.py`` (its contents and
its styles: reconstruction needs only pictures); the validation images are never seen.

Loss: the one WCT's decoders were trained with (Li et al. 2017), pixels (L1) plus
features: the frozen encoder's own relu1_1 … relu{level}_1 of the output against the
input's, each a relative squared error, weighted ``perceptual``. Not the real VGG-19: it
costs 4× the step on a CPU and it is the quality benchmark's measuring network.

The result was negative (bench/RESULTS.md, "Fine-tuned decoders"), so nothing in the
engine loads these files; ``bench/quality.py --variant "...;decoder=4:PATH"`` does.

    python bench/finetune_decoder.py train --level 4 --upsample bilinear   # ~22 min, 1 core
    python bench/finetune_decoder.py psnr bench/out/finetune/*.pth
    python bench/finetune_decoder.py grid golden_gate:pastel_hills --decoder PATH...

``train`` writes ``--out/cd16x_decoder_relu{level}_1_{upsample}.pth`` (a plain state dict,
the published layout) and a ``.json`` beside it: the recipe, seed, thread count, the
SHA-256 of the weights, of the published files it started from and of every training
image. ``psnr``: reconstruction PSNR (encoder → decoder, longest side 512, cropped to the
level's stride), validation and tuning pictures, published decoders run nearest and
bilinear against the files given. ``grid``: the default ``wct`` on content:style pairs
with the published decoders and with the given ones; in the top quarter of each output
(sky, in these photos) the luminance's high-pass (minus a Gaussian blur, σ 3, 8-bit
units): its spread (``texture``) and the spread of its 8×8 and 2×2 phase means (what
repeats every 8 or 2 px: the decoders' ×2 upsamplings), and 2×-zoomed crops of the
flattest window side by side under bench/out/finetune/.
"""

import argparse
import hashlib
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from PIL import Image
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from bench import dataset  # noqa: E402
from models import weights  # noqa: E402
from models.cascade import RECIPES  # noqa: E402
from models.detail import gaussian_blur, luminance  # noqa: E402
from models.images import resize_longest  # noqa: E402
from models.networks import cd16x  # noqa: E402
from models.params import StyleParams  # noqa: E402
from models.stylizer import Stylizer  # noqa: E402
from models.tensors import to_tensor  # noqa: E402

OUT = ROOT / "bench" / "out" / "finetune"
TRAINING_SIDE = 1024  # pictures stored at this longest side; crops cut at 0.5–1 of it


@dataclass(frozen=True)
class Recipe:
    """How a decoder is fine-tuned; stored in its JSON so a run can be repeated."""

    level: int = 4
    upsample: cd16x.Upsample = "bilinear"
    steps: int = 1500
    batch: int = 4
    crop: int = 256  # side of the square training crops, in pixels
    scale: tuple[float, float] = (0.5, 1.0)  # of the picture stored at TRAINING_SIDE
    lr: float = 1e-4
    perceptual: float = 0.5  # weight of the feature term against pixel L1
    seed: int = 0


# --- training -----------------------------------------------------------------------------


def published_pair(level: int) -> tuple[cd16x.CompressedEncoder, cd16x.CompressedDecoder]:
    """The published encoder (frozen) and decoder of ``level``, verified."""
    encoder, decoder = cd16x.CompressedEncoder(level), cd16x.CompressedDecoder(level)
    encoder.load_state_dict(weights.load_state_dict(f"vgg19-cd16x/encoder_relu{level}_1"))
    decoder.load_state_dict(weights.load_state_dict(f"vgg19-cd16x/decoder_relu{level}_1"))
    return encoder.eval().requires_grad_(False), decoder


def random_crop(
    pictures: list[torch.Tensor], size: int, scale: tuple[float, float], rng: random.Random
) -> torch.Tensor:
    """A (1, 3, size, size) crop of a random picture at a random scale, flipped
    left-right half the time."""
    x = rng.choice(pictures)
    h, w = x.shape[-2:]
    side = max(2, min(int(size / rng.uniform(*scale)), h, w))
    top, left = rng.randrange(h - side + 1), rng.randrange(w - side + 1)
    crop = x[..., top : top + side, left : left + side]
    crop = F.interpolate(crop, size=(size, size), mode="bilinear", antialias=True)
    if rng.random() < 0.5:
        crop = crop.flip(-1)
    return crop.clamp(0, 1)


def reconstruction_loss(
    encoder: cd16x.CompressedEncoder,
    decoder: cd16x.CompressedDecoder,
    x: torch.Tensor,
    recipe: Recipe,
) -> tuple[torch.Tensor, dict[str, float]]:
    with torch.no_grad():
        target = encoder.features(x)
    y = decoder(target[-1], upsample=recipe.upsample)
    pixel = F.l1_loss(y, x)
    got = encoder.features(y)
    feature = sum(
        F.mse_loss(g, t) / t.square().mean().clamp_min(1e-8)
        for g, t in zip(got, target, strict=True)
    ) / len(target)
    loss = pixel + recipe.perceptual * feature
    return loss, {"loss": loss.item(), "pixel": pixel.item(), "feature": feature.item()}


def finetune_decoder(
    pictures: list[torch.Tensor], recipe: Recipe, log_every: int = 50
) -> cd16x.CompressedDecoder:
    """The published level-``recipe.level`` decoder trained ``recipe.steps`` Adam steps
    on random crops of ``pictures``. Deterministic for a seed and a thread count."""
    torch.manual_seed(recipe.seed)
    rng = random.Random(recipe.seed)
    encoder, decoder = published_pair(recipe.level)
    decoder.train().to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(decoder.parameters(), lr=recipe.lr)
    # A short warm-up (Adam's first steps move every weight by ~lr: a jolt for weights
    # that are already close), then cosine decay to 0.
    warmup = max(1, recipe.steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda i: min(1.0, (i + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * i / recipe.steps)),
    )
    started = time.perf_counter()
    for step in range(1, recipe.steps + 1):
        crops = [random_crop(pictures, recipe.crop, recipe.scale, rng) for _ in range(recipe.batch)]
        x = torch.cat(crops).contiguous(memory_format=torch.channels_last)
        loss, losses = reconstruction_loss(encoder, decoder, x, recipe)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % log_every == 0 or step == 1:
            rate = step / (time.perf_counter() - started)
            text = " ".join(f"{k} {v:.4f}" for k, v in losses.items())
            print(f"step {step}/{recipe.steps} {text}  {rate:.2f} steps/s", flush=True)
    return decoder.eval().requires_grad_(False)


# --- pictures -----------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def source_sha256(source: dataset.Source) -> str:
    """SHA-256 of the image's bytes as its package ships them (for a picture inside a Qt
    resource bundle, the resource's bytes, not the bundle's)."""
    if ".rcc:" in source.path:
        data = dataset.read_qt_resource(dataset.locate(source), source.path.split(".rcc:", 1)[1])
        return hashlib.sha256(data).hexdigest()
    return sha256_of(dataset.locate(source))


def pictures(split: dataset.Split, longest: int) -> list[tuple[str, torch.Tensor]]:
    """(name, (1, 3, H, W) in [0, 1]) of every content and style of ``split``."""
    out = []
    for kind in ("content", "style"):
        for source in dataset.select(kind, split):  # type: ignore[arg-type]
            image = resize_longest(dataset.load(source), longest)
            out.append((source.name, to_tensor(image).contiguous()))
    return out


def train(args: argparse.Namespace) -> None:
    recipe = Recipe(
        level=args.level, upsample=args.upsample, steps=args.steps, batch=args.batch,
        crop=args.crop, lr=args.lr, perceptual=args.perceptual, seed=args.seed,
    )  # fmt: skip
    tune = pictures("tune", TRAINING_SIDE)
    print(f"{len(tune)} tuning pictures; {recipe}", flush=True)
    started = time.perf_counter()
    decoder = finetune_decoder([x for _, x in tune], recipe, args.log_every)
    seconds = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"cd16x_decoder_relu{recipe.level}_1_{recipe.upsample}{args.tag}.pth"
    torch.save(decoder.state_dict(), path)
    sources = {s.name: s for s in dataset.SOURCES}
    base = [f"vgg19-cd16x/{part}_relu{recipe.level}_1" for part in ("encoder", "decoder")]
    record = {
        "sha256": sha256_of(path),
        "recipe": asdict(recipe),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "seconds": round(seconds),
        "base": {name: weights.manifest()[name].sha256 for name in base},
        "images": [{"name": n, "sha256": source_sha256(sources[n])} for n, _ in tune],
    }
    path.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"saved {path} in {seconds:.0f} s ({recipe.steps / seconds:.2f} steps/s)")


# --- measures -----------------------------------------------------------------------------


def load_finetuned(path: Path) -> tuple[int, cd16x.Upsample, cd16x.CompressedDecoder]:
    """(level, upsampling, decoder) of a file ``train`` wrote (the JSON says which)."""
    recipe = json.loads(path.with_suffix(".json").read_text())["recipe"]
    decoder = cd16x.CompressedDecoder(recipe["level"])
    decoder.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return recipe["level"], recipe["upsample"], decoder.eval().requires_grad_(False)


@torch.no_grad()
def mean_psnr(
    encoder: torch.nn.Module,
    decoder: torch.nn.Module,
    images: list[tuple[str, torch.Tensor]],
    upsample: str,
    stride: int,
) -> float:
    values = []
    for _, x in images:
        h, w = (x.shape[-2] // stride) * stride, (x.shape[-1] // stride) * stride
        x = x[..., :h, :w]
        y = decoder(encoder(x), upsample=upsample).clamp(0, 1)
        values.append(-10 * math.log10(F.mse_loss(y, x).item()))
    return sum(values) / len(values)


def psnr(args: argparse.Namespace) -> None:
    val, tune = pictures("val", args.size), pictures("tune", args.size)
    tuned = [(p.name, *load_finetuned(p)) for p in args.files]
    print(f"| decoder | val PSNR ({len(val)} pictures) | tune PSNR ({len(tune)}) |")
    print("|---|---|---|")
    for level in sorted({t[1] for t in tuned} or {4}):
        encoder, published = published_pair(level)
        rows = [(f"published L{level} {u}", published.eval(), u) for u in ("nearest", "bilinear")]
        rows += [(name, d, u) for name, lv, u, d in tuned if lv == level]
        for name, decoder, upsample in rows:
            stride = 2 ** (level - 1)
            v = mean_psnr(encoder, decoder, val, upsample, stride)
            t = mean_psnr(encoder, decoder, tune, upsample, stride)
            print(f"| {name} | {v:.2f} | {t:.2f} |", flush=True)


def grid_energy(image: torch.Tensor, period: int) -> tuple[float, float]:
    """(texture, grid at ``period``) of the top quarter of (1, 3, H, W) ``image``."""
    y = luminance(image)[..., : image.shape[-2] // 4, :] * 255
    high = y - gaussian_blur(y, 3.0)
    h, w = (high.shape[-2] // period) * period, (high.shape[-1] // period) * period
    phases = high[0, 0, :h, :w].unflatten(0, (h // period, period))
    phases = phases.unflatten(2, (w // period, period))
    return high.std().item(), phases.mean(dim=(0, 2)).std().item()


def flattest_window(image: torch.Tensor, side: int = 128) -> tuple[int, int]:
    """(left, top) of the ``side``² window of the top quarter whose content varies least."""
    y = luminance(image)[..., : max(side, image.shape[-2] // 4), :]
    spread = F.avg_pool2d(y.square(), side, stride=16) - F.avg_pool2d(y, side, stride=16) ** 2
    index = int(spread.flatten().argmin())
    return (index % spread.shape[-1]) * 16, (index // spread.shape[-1]) * 16


def grid(args: argparse.Namespace) -> None:
    published, tuned = Stylizer(device="cpu"), Stylizer(device="cpu")
    wct = RECIPES["wct"]
    upsampling = {}
    for path in args.decoder:
        level, upsampling[level], decoder = load_finetuned(path)
        tuned.networks.decoders[("cd16x", level)].load_state_dict(decoder.state_dict())
    steps = tuple(replace(s, upsample=upsampling.get(s.level, s.upsample)) for s in wct.steps)
    label = "+".join(p.stem for p in args.decoder)
    recipes = {"published": (published, wct), label: (tuned, replace(wct, steps=steps))}
    sources = {s.name: s for s in dataset.SOURCES}
    print("| pair | decoders | texture | grid 8 px | grid 2 px |\n|---|---|---|---|---|")
    OUT.mkdir(parents=True, exist_ok=True)
    for pair in args.pairs:
        content_name, style_name = pair.split(":")
        content = resize_longest(dataset.load(sources[content_name]), 512)
        style = resize_longest(dataset.load(sources[style_name]), 512)
        left, top = flattest_window(to_tensor(content))
        crops = []
        for name, (stylizer, recipe) in recipes.items():
            image = stylizer.stylize(content, [style], StyleParams(size=512), recipe=recipe).image
            x = to_tensor(image)
            texture, grid8 = grid_energy(x, 8)
            grid2 = grid_energy(x, 2)[1]
            print(f"| {pair} | {name} | {texture:.2f} | {grid8:.3f} | {grid2:.3f} |", flush=True)
            crop = image.crop((left, top, left + 128, top + 128))
            crops.append(crop.resize((256, 256), Image.Resampling.NEAREST))
        sheet = Image.new("RGB", (256 * len(crops), 256))
        for i, crop in enumerate(crops):
            sheet.paste(crop, (256 * i, 0))
        sheet.save(OUT / f"grid_{content_name}__{style_name}_{label}.png")


def main() -> None:
    os.environ.setdefault(
        "STYLIZE_WEIGHTS_DIR", str(SHARED / "weights")
    )  # as the README's commands
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (2 shared cores)")
    actions = parser.add_subparsers(dest="action", required=True)
    defaults = Recipe()
    fit = actions.add_parser("train", help="fine-tune one level's decoder")
    fit.add_argument("--level", type=int, default=defaults.level)
    fit.add_argument("--upsample", default=defaults.upsample, choices=["nearest", "bilinear"])
    fit.add_argument("--steps", type=int, default=defaults.steps)
    fit.add_argument("--batch", type=int, default=defaults.batch)
    fit.add_argument("--crop", type=int, default=defaults.crop)
    fit.add_argument("--lr", type=float, default=defaults.lr)
    fit.add_argument("--perceptual", type=float, default=defaults.perceptual)
    fit.add_argument("--seed", type=int, default=defaults.seed)
    fit.add_argument("--log-every", type=int, default=50)
    fit.add_argument("--out", type=Path, default=OUT)
    fit.add_argument("--tag", default="", help="suffix of the file name")
    measure = actions.add_parser("psnr", help="reconstruction PSNR, val and tune")
    measure.add_argument("files", type=Path, nargs="*", help="decoders `train` wrote")
    measure.add_argument("--size", type=int, default=512)
    blocks = actions.add_parser("grid", help="grid and texture in flat areas")
    blocks.add_argument(
        "--decoder", type=Path, nargs="+", required=True, help="files `train` wrote"
    )
    blocks.add_argument("pairs", nargs="+", metavar="CONTENT:STYLE")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    {"train": train, "psnr": psnr, "grid": grid}[args.action](args)


if __name__ == "__main__":
    main()
