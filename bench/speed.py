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

``--ab`` instead compares configurations in one process, interleaved job by job (the
host is shared and drifts; alternating makes the comparison fair): each job decodes
nothing, encodes the style and stylizes (the engine call with a new style per job), for
our variants (``bench/quality.py``'s ``--variant`` syntax) and MicroAST:

    python bench/speed.py --ab wct "wct+detail=cd16x:4w,2w,1w;detail=2:0.5" --sizes 512 1024

``--cached`` adds, per variant, a column with the style's features encoded before the
clock starts (a worker's style cache); MicroAST has no such split, its column always
encodes the style. Our networks run as the engine picks (``STYLIZE_PRECISION``, bfloat16
on a CPU with AMX or AMD's AVX512-BF16: ``models/precision.py``); MicroAST as published, in float32.
``--peer-bfloat16`` adds MicroAST given the same change (bfloat16, channels-last), for
a comparison that does not credit the number format to the method.

``--throughput SIZE`` runs ``--processes`` workers at once on this machine (and its
GPU), each doing ``--jobs`` jobs as a worker does them (decode, a new style, stylize,
JPEG): how many workers one GPU or host should run. On CUDA the per-size table also
gives the peak GPU memory PyTorch held for tensors.

    python bench/speed.py --throughput 1024 --processes 1 2 4 --device cuda
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def measure(
    method: str, size: int, repeat: int, device: str | None, style_size: int | None
) -> dict:
    sys.path.insert(0, str(ROOT))
    import torch

    from bench.memory import peak_rss_mb
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
        started = time.perf_counter()  # decoded at the sizes the job needs, as a worker does
        style = decode_image(style_bytes, longest=params.style_size)
        out = stylizer.stylize(decode_image(content_bytes, longest=size), [style], params)
        encode_image(out.image, "jpeg", 90)
        cold_s = time.perf_counter() - started
        features = stylizer.encode_style(style, params.style_size, method)
        started = time.perf_counter()
        out = stylizer.stylize(decode_image(content_bytes, longest=size), [features], params)
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
        "precision": stylizer.precision,
        "threads": torch.get_num_threads(),
        "cold": statistics.median(cold),
        "cached": statistics.median(cached),
        "stylize": statistics.median(engine),
        "peak_rss_mb": peak_rss_mb(),
        "peak_gpu_mb": _peak_gpu_mb(stylizer.device),
        "runs": repeat,
    }


def _peak_gpu_mb(device) -> float | None:  # noqa: ANN001
    """The most GPU memory PyTorch's allocator held for tensors (None off CUDA): what a
    worker's jobs of this size need of the card, besides the CUDA context's own."""
    import torch

    if device.type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(device) / 2**20


def throughput(
    size: int, processes: list[int], jobs: int, device: str | None, method: str = "wct"
) -> None:
    """Jobs per second when ``P`` workers share this machine (and its GPU), each running
    ``jobs`` jobs back to back after one to warm up: the content decoded, a new style
    encoded, stylized, the result encoded as JPEG, as a worker does per job. The workers
    start their jobs together (a barrier after loading); the rate is all their jobs
    over the slowest one's time."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # CUDA cannot be forked into children
    print(f"{method} at {size} px, {jobs} jobs per worker, style encoded per job\n")
    print("| workers | jobs/s | median job (s) |")
    print("|---|---|---|")
    for count in processes:
        barrier, results = context.Barrier(count), context.Queue()
        workers = [
            context.Process(
                target=_throughput_worker,
                args=(size, jobs, device, method, barrier, results, i, count),
            )
            for i in range(count)
        ]
        for w in workers:
            w.start()
        done = [results.get() for _ in workers]
        for w in workers:
            w.join()
        elapsed = max(d["elapsed"] for d in done)
        median = statistics.median(t for d in done for t in d["times"])
        print(f"| {count} | {count * jobs / elapsed:.2f} | {median:.3f} |", flush=True)


def _throughput_worker(size, jobs, device, method, barrier, results, index, count) -> None:  # noqa: ANN001
    sys.path.insert(0, str(ROOT))
    from models import runtime
    from models.images import decode_image, encode_image
    from models.params import StyleParams
    from models.stylizer import Stylizer

    contents = sorted((SHARED / "testdata/content").iterdir())
    styles = sorted((SHARED / "testdata/style").iterdir())
    stylizer = Stylizer(device=device)
    # On a CPU the workers share its cores, as `stylize up` shares them; a GPU's keep
    # torch's choice for their CPU-side work.
    cores = max(1, (os.cpu_count() or 1) // count) if stylizer.device.type == "cpu" else 0
    runtime.configure(threads=cores)
    params = StyleParams(method=method, size=size, format="jpeg")

    def job(i: int) -> float:
        started = time.perf_counter()
        content = decode_image(contents[i % len(contents)].read_bytes(), longest=size)
        style = decode_image(styles[i % len(styles)].read_bytes(), longest=params.style_size)
        out = stylizer.stylize(content, [style], params)
        encode_image(out.image, "jpeg", 90)
        return time.perf_counter() - started

    job(index)  # warm up: kernels chosen, allocator sized
    barrier.wait()
    started = time.perf_counter()
    times = [job(index + i) for i in range(jobs)]
    results.put({"elapsed": time.perf_counter() - started, "times": times})


def compare(
    specs: list[str],
    sizes: list[int],
    repeat: int,
    device: str | None,
    cached: bool = False,
    peer_bfloat16: bool = False,
) -> None:
    """Median engine time per configuration and size, interleaved, with MicroAST (and,
    with ``peer_bfloat16``, MicroAST in bfloat16 too; ratios stay to the published one)."""
    sys.path.insert(0, str(ROOT))
    import torch

    from bench.quality import PEER, MicroAST, Variant, our_method, parse_variant
    from models import runtime
    from models.cascade import RECIPES
    from models.images import load_image, resize_longest
    from models.stylizer import Stylizer

    runtime.configure()  # as a worker does
    stylizer = Stylizer(device=device)
    contents = [load_image(p) for p in sorted((SHARED / "testdata/content").iterdir())]
    # The style at the default style_size, as a client gets it.
    styles = [
        resize_longest(load_image(p), 512) for p in sorted((SHARED / "testdata/style").iterdir())
    ]
    variants = dict(
        parse_variant(spec) if "=" in spec else (spec, Variant(RECIPES[spec])) for spec in specs
    )
    peers = {PEER: MicroAST(stylizer.device)}
    if peer_bfloat16:
        peers[f"{PEER} (bfloat16)"] = MicroAST(stylizer.device, dtype=torch.bfloat16)
    print(
        f"device {stylizer.device}, our networks in {stylizer.precision}, "
        f"{torch.get_num_threads()} threads, median of {repeat} jobs"
    )
    print(
        "(engine time, style encoded per job unless cached, interleaved; × = the median over"
        " jobs of the time over MicroAST's on the same job: a pair runs back to back, so a"
        " shared host's load swings cancel)\n"
    )
    columns = [*variants, *(f"{name} (cached style)" for name in variants if cached), *peers]
    print("| longest side | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for size in sizes:
        methods = {  # the style at the default style_size, as a client gets it
            name: our_method(stylizer, replace(v, style_size=v.style_size or 512), size)
            for name, v in variants.items()
        }
        if cached:
            for name, v in variants.items():
                methods[f"{name} (cached style)"] = _cached_method(stylizer, v, size, styles)
        methods.update(peers)
        times: dict[str, list[float]] = {name: [] for name in methods}
        for i in range(repeat + 1):  # the first round warms up and is dropped
            content = resize_longest(contents[i % len(contents)], size)
            style = styles[i % len(styles)]
            order = list(methods.items())
            for name, method in order if i % 2 else reversed(order):
                started = time.perf_counter()
                method(content, style)
                if i:
                    times[name].append(time.perf_counter() - started)
        cells = []
        for t in times.values():
            ratio = statistics.median(a / b for a, b in zip(t, times[PEER], strict=True))
            cells.append(f"{statistics.median(t):.3f} ({ratio:.2f}×)")
        print(f"| {size} | " + " | ".join(cells) + " |")


def _cached_method(stylizer, variant, size: int, styles: list):  # noqa: ANN001, ANN202
    """Our ``variant`` with each of ``styles`` encoded before the clock starts."""
    from models.params import StyleParams

    params = StyleParams(alpha=variant.alpha, size=size, style_size=variant.style_size or 512)
    features = {
        id(s): stylizer.encode_style(s, params.style_size, "wct", recipe=variant.recipe)
        for s in styles
    }

    def run(content, style):  # noqa: ANN001, ANN202
        return stylizer.stylize(content, [features[id(style)]], params, recipe=variant.recipe).image

    return run


def main() -> None:
    os.environ.setdefault(
        "STYLIZE_WEIGHTS_DIR", str(SHARED / "weights")
    )  # as the README's commands
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
    parser.add_argument("--ab", nargs="+", help="configurations to compare interleaved")
    parser.add_argument(
        "--cached", action="store_true", help="with --ab: also each variant with a cached style"
    )
    parser.add_argument(
        "--peer-bfloat16",
        action="store_true",
        help="with --ab: also MicroAST in bfloat16 and channels-last, as our networks run",
    )
    parser.add_argument(
        "--throughput",
        type=int,
        metavar="SIZE",
        help="jobs/s at this size with --processes workers sharing the machine",
    )
    parser.add_argument("--processes", nargs="+", type=int, default=[1, 2, 4])
    parser.add_argument("--jobs", type=int, default=20, help="per worker, with --throughput")
    parser.add_argument("--one", nargs=2, metavar=("METHOD", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.throughput:
        throughput(args.throughput, args.processes, args.jobs, args.device, args.methods[0])
        return
    if args.ab:
        compare(args.ab, args.sizes, args.repeat, args.device, args.cached, args.peer_bfloat16)
        return
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
    print(
        f"device {first['device']}, networks in {first['precision']}, {first['threads']} threads, "
        f"median of {first['runs']} runs\n"
    )
    gpu = first["peak_gpu_mb"] is not None
    print(
        "| method | longest side | style side | cold style, end to end (s) | cached style, end to end (s) | engine only, cached (s) | peak RSS (MB) |"
        + (" peak GPU memory (MB) |" if gpu else "")
    )
    print("|---|---|---|---|---|---|---|" + ("---|" if gpu else ""))
    for r in rows:
        print(
            f"| {r['method']} | {r['size']} | {r['style_size']} | {r['cold']:.3f} | {r['cached']:.3f} | {r['stylize']:.3f} | {r['peak_rss_mb']:.0f} |"
            + (f" {r['peak_gpu_mb']:.0f} |" if gpu else "")
        )


if __name__ == "__main__":
    main()
