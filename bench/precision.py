"""How far a number format or a device moves the pictures: each configuration's output
against a reference's (float32 on the CPU, the configuration every quality table was
measured in), as PSNR and mean absolute difference in grey levels, with its engine time.

Why: ``STYLIZE_PRECISION=auto`` picks bfloat16 networks where they pay, and a GPU
worker runs cuDNN's kernels (TF32 tensor cores for float32 convolutions, by PyTorch's
default) rather than oneDNN's; the quality tables hold for those only as far as the
pictures are the same.

    python bench/precision.py                                   # CPU: float32 vs bfloat16
    python bench/precision.py --configs cpu:float32 cuda:float32 cuda:bfloat16
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
# Four development pairs: a city, a bridge, a harbour, a building; a painting, a
# drawing, strokes and a flat abstract.
PAIRS = [
    ("chicago.jpg", "woman_with_hat_matisse.jpg"),
    ("golden_gate.jpg", "sketch.png"),
    ("sailboat.jpg", "brushstrokes.jpg"),
    ("modern.jpg", "mondrian_cropped.jpg"),
]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def main() -> None:
    os.environ.setdefault("STYLIZE_WEIGHTS_DIR", str(SHARED / "weights"))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--configs",
        nargs="+",
        default=["cpu:float32", "cpu:bfloat16"],
        help="device:precision; the first is the reference",
    )
    parser.add_argument("--sizes", nargs="+", type=int, default=[512, 1024])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per pair")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from models import runtime
    from models.images import load_image
    from models.params import StyleParams
    from models.stylizer import Stylizer

    runtime.configure()
    stylizers = {}
    for config in args.configs:
        device, precision = config.split(":")
        stylizers[config] = Stylizer(device=device, precision=precision)
    reference = args.configs[0]
    print(f"against {reference}; PSNR (dB) / mean |difference| (grey levels); median engine time\n")
    print("| pair | size | " + " | ".join(args.configs) + " |")
    print("|---|---|" + "---|" * len(args.configs))
    for size in args.sizes:
        for content_name, style_name in PAIRS:
            content = load_image(SHARED / "testdata/content" / content_name)
            style = load_image(SHARED / "testdata/style" / style_name)
            params = StyleParams(size=size)
            outputs, times = {}, {}
            for config, stylizer in stylizers.items():
                runs = []
                for _ in range(args.repeat + 1):  # the first warms up and is dropped
                    started = time.perf_counter()
                    out = stylizer.stylize(content, [style], params).image
                    runs.append(time.perf_counter() - started)
                outputs[config] = np.asarray(out)
                times[config] = statistics.median(runs[1:])
            cells = []
            for config in args.configs:
                a, b = outputs[config], outputs[reference]
                if config == reference:
                    cells.append(f"– ({times[config]:.3f} s)")
                else:
                    difference = np.abs(a.astype(np.int16) - b.astype(np.int16)).mean()
                    cells.append(f"{psnr(a, b):.1f} / {difference:.2f} ({times[config]:.3f} s)")
            print(
                f"| {content_name} × {style_name} | {size} | " + " | ".join(cells) + " |",
                flush=True,
            )


if __name__ == "__main__":
    main()
