"""The codecs around a job: decoding the uploads, encoding the result.

Decoding: an upload at the size a job needs (``decode_image(data, longest=...)``)
against decoding it whole and resizing: seconds (best of ``--repeat``) and PSNR between
the two. Phones upload 12–50 MP JPEGs and a job usually wants 512 or 1024 px. The
default files are the largest photos of the Debian wallpaper packages
``bench/dataset.py`` installs.

Encoding (``--encode``): the time and size of a stylized result (four development
pairs, stylized at each size) as PNG at several zlib levels, JPEG and WebP, beside the
engine's own time for it.

    python bench/codec.py
    python bench/codec.py --sizes 512 --files photo1.jpg photo2.jpg
    python bench/codec.py --encode
"""

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FILES = [
    "/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg",  # 6028x3391, 4.4 MB
    "/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg",  # 16 MB
    "/usr/share/wallpapers/Volna/contents/images/5120x2880.jpg",
    "/usr/share/backgrounds/Infinite-Sea_by_Aury88.jpg",  # 4096x4096
    "/usr/share/backgrounds/rhythm.jpg",  # 3840x2400
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", nargs="+", default=FILES)
    parser.add_argument("--sizes", nargs="+", type=int, default=[512, 1024])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--encode", action="store_true", help="encoding results instead")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.encode:
        encoding(args.sizes, args.repeat)
        return
    from models.images import decode_image, resize_longest

    print("| file | pixels | MB | longest side | whole, then resized | at the size | PSNR |")
    print("|---|---|---|---|---|---|---|")
    for path in map(Path, args.files):
        if not path.exists():
            print(f"| {path.name} | missing | | | | | |")
            continue
        data = path.read_bytes()
        whole = decode_image(data)
        for size in args.sizes:
            slow, fast = [], []
            for _ in range(args.repeat):  # alternated: a shared host's drift hits both
                started = time.perf_counter()
                expected = resize_longest(decode_image(data), size)
                slow.append(time.perf_counter() - started)
                started = time.perf_counter()
                image = decode_image(data, longest=size)
                fast.append(time.perf_counter() - started)
            error = np.mean((np.asarray(image, float) - np.asarray(expected, float)) ** 2)
            psnr = "identical" if error == 0 else f"{10 * np.log10(255**2 / error):.1f} dB"
            print(
                f"| {path.name} | {whole.width}x{whole.height} | {len(data) / 1e6:.1f} | {size} "
                f"| {min(slow):.3f} s | {min(fast):.3f} s | {psnr} |",
                flush=True,
            )


# What each encoding is asked for: Pillow's PNG writer at zlib levels 1, 3 and 6 (the
# engine's default is ``models.images.PNG_COMPRESS_LEVEL``), and encode_image's JPEG and WebP.
ENCODINGS = {
    "PNG level 1": ("PNG", {"compress_level": 1}),
    "PNG level 3": ("PNG", {"compress_level": 3}),
    "PNG level 6": ("PNG", {"compress_level": 6}),
    "JPEG q90": ("JPEG", {"quality": 90, "subsampling": "4:4:4"}),
    "WebP q90": ("WEBP", {"quality": 90, "method": 4}),
}
PAIRS = [
    ("chicago.jpg", "woman_with_hat_matisse.jpg"),
    ("golden_gate.jpg", "sketch.png"),
    ("sailboat.jpg", "brushstrokes.jpg"),
    ("modern.jpg", "mondrian_cropped.jpg"),
]


def encoding(sizes: list[int], repeat: int) -> None:
    """Median over the pairs of each encoding's best-of-``repeat`` time and its bytes."""
    os.environ.setdefault("STYLIZE_WEIGHTS_DIR", str(SHARED / "weights"))
    from models import runtime
    from models.images import load_image
    from models.params import StyleParams
    from models.stylizer import Stylizer

    runtime.configure()
    stylizer = Stylizer()
    print(f"networks in {stylizer.precision}; medians over {len(PAIRS)} pairs\n")
    print("| size | engine | " + " | ".join(ENCODINGS) + " |")
    print("|---|---|" + "---|" * len(ENCODINGS))
    for size in sizes:
        engine, times, sizes_kb = [], {k: [] for k in ENCODINGS}, {k: [] for k in ENCODINGS}
        for content, style in PAIRS:
            out = stylizer.stylize(
                load_image(SHARED / "testdata/content" / content),
                [load_image(SHARED / "testdata/style" / style)],
                StyleParams(size=size),
            )
            engine.append(out.seconds)
            for name, (fmt, options) in ENCODINGS.items():
                best = float("inf")
                for _ in range(repeat):
                    buffer = io.BytesIO()
                    started = time.perf_counter()
                    out.image.save(buffer, fmt, **options)
                    best = min(best, time.perf_counter() - started)
                times[name].append(best)
                sizes_kb[name].append(len(buffer.getvalue()) / 1024)
        cells = [
            f"{1e3 * statistics.median(times[k]):.0f} ms, {statistics.median(sizes_kb[k]):.0f} KB"
            for k in ENCODINGS
        ]
        print(
            f"| {size} | {1e3 * statistics.median(engine):.0f} ms | " + " | ".join(cells) + " |",
            flush=True,
        )


if __name__ == "__main__":
    main()
