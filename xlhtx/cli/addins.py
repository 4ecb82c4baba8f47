"""Add-in commands of the CLI: ``addin libreoffice`` writes the Calc extension."""

from __future__ import annotations

import argparse
import os

from xlhtx.console import say


def add_commands(sub, parser_factory) -> None:
    a = sub.add_parser("addin", help="the HTX_* functions for other spreadsheets")
    asub = a.add_subparsers(dest="addin_command", metavar="TARGET")
    lo = parser_factory(asub, "libreoffice", "write the LibreOffice Calc extension (.oxt) "
                        "with every HTX_* function; install it with `unopkg add FILE`",
                        "xlhtx addin libreoffice -o xlhtx.oxt", cmd_libreoffice)
    lo.add_argument("-o", "--output", default="xlhtx.oxt", help="where (default: %(default)s)")
    lo.add_argument("--python-path", action="append", metavar="DIR",
                    help="a folder where LibreOffice's Python finds xlhtx and its packages "
                         "(repeatable; default: this Python's: "
                         "the xlhtx source and its site-packages)")


def cmd_libreoffice(args: argparse.Namespace) -> int:
    from xlhtx.addins import libreoffice
    paths = args.python_path or libreoffice.python_paths()
    out = libreoffice.build(args.output, paths)
    say(f"wrote {out}: {len(libreoffice.FUNCTIONS)} functions; install it with "
        f"`unopkg add {out}` (LibreOffice closed), its Python reads xlhtx from "
        f"{os.pathsep.join(paths)}")
    return 0
