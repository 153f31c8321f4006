"""Entry point of the ``seqlab`` command: discovers subcommand modules in ``seqlab.cli``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import warnings

import seqlab
import seqlab.cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seqlab", description="Sequence recognition toolkit: speech and text recognition."
    )
    parser.add_argument("--version", action="version", version=f"seqlab {seqlab.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(seqlab.cli.__path__), key=lambda m: m.name):
        if info.name == "main" or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"seqlab.cli.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``seqlab``; every subcommand sets ``func(args) -> int`` as its handler."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2

    def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
        # a user-facing line, not a Python source location
        print(f"seqlab {args.command}: warning: {message}", file=sys.stderr)

    previous, warnings.showwarning = warnings.showwarning, show_warning
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except (OSError, ValueError) as e:  # domain errors subclass these and name the file/line
        print(f"seqlab {args.command}: error: {e}", file=sys.stderr)
        return 1
    finally:
        warnings.showwarning = previous


if __name__ == "__main__":
    sys.exit(main())
