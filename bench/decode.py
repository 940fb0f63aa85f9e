"""Decoding an upload at the size a job needs (``decode_image(data, longest=...)``) against
decoding it whole and resizing: seconds (best of ``--repeat``) and PSNR between the two.

Phones upload 12–50 MP JPEGs and a job usually wants 512 or 1024 px. The default files
are the largest photos of the Debian wallpaper packages ``bench/dataset.py`` installs.

    python bench/decode.py
    python bench/decode.py --sizes 512 --files photo1.jpg photo2.jpg
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
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
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
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


if __name__ == "__main__":
    main()
