"""``stylize``: the parser, built from each command module's ``add_command``."""

import argparse
import sys

from cli import run, up, weights, worker
from models.errors import StylizeError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stylize",
        description="Arbitrary style transfer (AdaIN, WCT, Gatys) on pretrained VGG-19 weights.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (run, weights, worker, up):
        module.add_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (StylizeError, OSError) as error:  # OSError: e.g. --dest not writable
        print(f"stylize: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C: a batch's finished files are whole, the rest absent
        print("stylize: interrupted", file=sys.stderr)
        return 130
