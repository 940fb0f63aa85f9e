"""``stylize weights list | fetch | import``: the pretrained weight files."""

import argparse
from pathlib import Path

from cli.progress import ProgressBars
from models import weights


def add_command(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser(
        "weights",
        help="list, download or import the pretrained weight files",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "The engine needs pretrained weight files (published PyTorch state dicts,\n"
            "listed with their SHA-256 in models/manifest.json). It looks for them in\n"
            "  1. $STYLIZE_WEIGHTS_DIR, if set (e.g. ../shared/weights), then\n"
            "  2. the cache directory: $STYLIZE_CACHE_DIR, else $XDG_CACHE_HOME/stylize/weights,\n"
            "     else ~/.cache/stylize/weights.\n"
            "A file is used only if its size and SHA-256 match the manifest.\n"
            "`fetch` and `import` put verified copies in the cache directory; `stylize run`\n"
            "and the workers download a missing file there on first use, from its pinned\n"
            "URL or $STYLIZE_WEIGHTS_MIRROR, unless STYLIZE_OFFLINE=1."
        ),
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser(
        "list",
        help="show each weight file: state (ok / missing / corrupt), size, location, licence",
    )
    listing.set_defaults(handler=_weights_list)

    fetch = actions.add_parser(
        "fetch",
        help="download weight files that are missing or corrupt",
        description="Download weight files, check their SHA-256 and store them. Files "
        "already present and intact are skipped.",
    )
    fetch.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="which files, e.g. vgg19-cd16x/encoder_relu5_1 (default: all; names are in "
        "`stylize weights list`)",
    )
    fetch.add_argument(
        "--mirror",
        metavar="URL",
        help="download URL/<family>/<file>.pth instead of the upstream URLs, from a mirror "
        "laid out like ../shared/weights (http://, https:// or file://); default "
        "$STYLIZE_WEIGHTS_MIRROR",
    )
    _add_dest_option(fetch)
    fetch.set_defaults(handler=_weights_fetch)

    importing = actions.add_parser(
        "import",
        help="copy weight files from a local directory (e.g. ../shared/weights)",
        description="Copy every known weight file found in DIR, checking each SHA-256; a "
        "corrupt file is refused and not copied.",
    )
    importing.add_argument(
        "dir",
        type=Path,
        metavar="DIR",
        help="a directory laid out like ../shared/weights (vgg19-cd16x/…, vgg19-normalised/…)",
    )
    _add_dest_option(importing)
    importing.set_defaults(handler=_weights_import)


def _add_dest_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dest",
        type=Path,
        metavar="DIR",
        help="where to store the files (default: the cache directory, "
        f"currently {weights.cache_dir()})",
    )


def _weights_list(args: argparse.Namespace) -> int:
    status = weights.status()
    rows = [("NAME", "STATE", "SIZE", "LOCATION", "LICENCE")]
    for wf, path, state in status:
        rows.append((wf.name, state, _human_size(wf.bytes), str(path or "-"), wf.license))
    widths = [max(len(cell) for cell in column) for column in zip(*rows, strict=True)]
    for row in rows:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print(line.rstrip())
    print(f"\nsearched, in order: {', '.join(str(d) for d in weights.search_dirs())}")
    unusable = sum(state != "ok" for _, _, state in status)
    if unusable:
        print(
            f"{unusable} of {len(status)} files missing or corrupt; fix with "
            "`stylize weights fetch` or `stylize weights import ../shared/weights`"
        )
    return 0


def _weights_fetch(args: argparse.Namespace) -> int:
    with ProgressBars() as bars:
        paths = weights.fetch(
            args.names or None, dest=args.dest, mirror=args.mirror, progress=bars.download
        )
    print(f"{len(paths)} weight file(s) verified in {args.dest or weights.cache_dir()}")
    return 0


def _weights_import(args: argparse.Namespace) -> int:
    paths = weights.import_dir(args.dir, dest=args.dest)
    print(f"{len(paths)} weight file(s) verified in {args.dest or weights.cache_dir()}")
    return 0


def _human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"
