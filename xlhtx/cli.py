"""The ``xlhtx`` command line."""

from __future__ import annotations

import argparse
import sys

from xlhtx import __version__

EPILOG_DEMO = "example:\n  xlhtx demo"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="xlhtx", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="HTX futures margin, tier and liquidation maths: Excel add-in and "
                    "headless bulk tools.",
        epilog="examples:\n  xlhtx demo\n  xlhtx version")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    d = sub.add_parser("demo", help="run the end-to-end demo on built-in sample data",
                       epilog=EPILOG_DEMO, formatter_class=argparse.RawDescriptionHelpFormatter)
    d.set_defaults(func=cmd_demo)
    v = sub.add_parser("version", help="print the version and the tier snapshot's source",
                       epilog="example:\n  xlhtx version",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    v.set_defaults(func=cmd_version)
    return p


def cmd_demo(args: argparse.Namespace) -> int:
    from xlhtx import demo
    demo.run()
    return 0


def cmd_version(args: argparse.Namespace) -> int:
    from xlhtx.tiers import snapshot
    s = snapshot()
    print(f"xlhtx {__version__}; tier snapshot as of {s.as_of}: {s.source}")
    return 0


class CliError(Exception):
    """A failure to report as one line, exit status 1."""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except CliError as e:
        print(f"xlhtx: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
