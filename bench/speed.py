"""Speed benchmark: median latency and peak memory per method and size on this machine.

Each (method, size) runs in a fresh subprocess so that its peak resident memory is its own.
Per configuration it reports, over ``--repeat`` runs on development pairs:

- cold: end to end — decode content and style bytes, encode the style, stylize, encode
  the result as JPEG (q90) — what a request with a new style costs; the style is
  encoded at the default ``style_size`` (512) unless ``--style-size`` says otherwise;
- cached: the same with the style's features already computed (the workers' cache);
- stylize: the engine call alone with cached style features (no decode/encode).

    python bench/speed.py                          # adain and wct at 512 and 1024
    python bench/speed.py --methods adain --sizes 512 1024 2048
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def measure(
    method: str, size: int, repeat: int, device: str | None, style_size: int | None
) -> dict:
    sys.path.insert(0, str(ROOT))
    import torch

    from models import runtime
    from models.images import decode_image, encode_image
    from models.params import StyleParams
    from models.stylizer import Stylizer

    contents = sorted((SHARED / "testdata/content").iterdir())
    styles = sorted((SHARED / "testdata/style").iterdir())
    runtime.configure()  # as a worker does
    stylizer = Stylizer(device=device)
    params = StyleParams(method=method, size=size, format="jpeg")  # the defaults a client gets
    if style_size:
        params = params.model_copy(update={"style_size": style_size})
    cold, cached, engine = [], [], []
    for i in range(repeat + 1):  # the first run warms up allocators and is dropped
        content_bytes = contents[i % len(contents)].read_bytes()
        style_bytes = styles[i % len(styles)].read_bytes()
        started = time.perf_counter()
        style = decode_image(style_bytes)
        out = stylizer.stylize(decode_image(content_bytes), [style], params)
        encode_image(out.image, "jpeg", 90)
        cold_s = time.perf_counter() - started
        features = stylizer.encode_style(style, params.style_size, method)
        started = time.perf_counter()
        out = stylizer.stylize(decode_image(content_bytes), [features], params)
        encode_image(out.image, "jpeg", 90)
        cached_s = time.perf_counter() - started
        if i:
            cold.append(cold_s)
            cached.append(cached_s)
            engine.append(out.seconds)
    return {
        "method": method,
        "size": size,
        "style_size": params.style_size,
        "device": str(stylizer.device),
        "threads": torch.get_num_threads(),
        "cold": statistics.median(cold),
        "cached": statistics.median(cached),
        "stylize": statistics.median(engine),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "runs": repeat,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--methods", nargs="+", default=["wct", "adain"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[512, 1024])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--device", default=None)
    parser.add_argument(
        "--style-size", type=int, default=None, help="style longest side (default: StyleParams')"
    )
    parser.add_argument("--one", nargs=2, metavar=("METHOD", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(
            json.dumps(
                measure(args.one[0], int(args.one[1]), args.repeat, args.device, args.style_size)
            )
        )
        return
    rows = []
    for method in args.methods:
        for size in args.sizes:
            command = [
                sys.executable,
                __file__,
                "--one",
                method,
                str(size),
                "--repeat",
                str(args.repeat),
            ]
            if args.device:
                command += ["--device", args.device]
            if args.style_size:
                command += ["--style-size", str(args.style_size)]
            rows.append(
                json.loads(
                    subprocess.run(command, check=True, capture_output=True, text=True).stdout
                )
            )
    first = rows[0]
    print(f"device {first['device']}, {first['threads']} threads, median of {first['runs']} runs\n")
    print(
        "| method | longest side | style side | cold style, end to end (s) | cached style, end to end (s) | engine only, cached (s) | peak RSS (MB) |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['method']} | {r['size']} | {r['style_size']} | {r['cold']:.3f} | {r['cached']:.3f} | {r['stylize']:.3f} | {r['peak_rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
