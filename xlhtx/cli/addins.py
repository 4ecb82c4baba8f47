"""Add-in commands of the CLI: ``addin libreoffice`` writes the Calc extension,
``addin officejs`` the Office.js add-in, ``serve`` runs the server that add-in calls."""

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


    oj = parser_factory(asub, "officejs", "write the Office.js add-in (Excel on Windows, Mac "
                        "and the web) for the server at --url: manifest.xml to sideload, and "
                        "the files `xlhtx serve` also serves under /addin/",
                        "xlhtx addin officejs -o xlhtx-addin --url https://localhost:8443",
                        cmd_officejs)
    oj.add_argument("-o", "--output", default="xlhtx-addin", help="folder (default: %(default)s)")
    oj.add_argument("--url", default="https://localhost:8443",
                    help="the server's HTTPS address (default: %(default)s)")

    s = parser_factory(sub, "serve", "run the HTTPS server the Office.js add-in calls "
                       "(one POST per function call; every call carries the token)",
                       "xlhtx serve --cert localhost.pem --key localhost-key.pem", cmd_serve)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    s.add_argument("--port", type=int, default=8443, help="port (default: %(default)s)")
    s.add_argument("--cert", help="the HTTPS certificate (PEM)")
    s.add_argument("--key", help="its private key (PEM)")
    s.add_argument("--url", help="the address Excel reaches the server at (default: "
                   "https://localhost:PORT)")
    s.add_argument("--token-file", help="where the token is kept (default: "
                   "~/.config/xlhtx/serve-token, made on first run)")
    s.add_argument("--plain-http", action="store_true",
                   help="HTTP on loopback, for a test without Office (Office needs HTTPS)")


def cmd_officejs(args: argparse.Namespace) -> int:
    from xlhtx.addins import officejs
    out = officejs.write(args.output, args.url)
    say(f"wrote {out}: manifest.xml and {len(officejs.FUNCTIONS)} functions for "
        f"{officejs.base_url(args.url)}; run `xlhtx serve` there and sideload manifest.xml")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from xlhtx.addins import server
    server.serve(args.host, args.port, args.cert, args.key, args.url, args.token_file,
                 args.plain_http, say=say)
    return 0


def cmd_libreoffice(args: argparse.Namespace) -> int:
    from xlhtx.addins import libreoffice
    paths = args.python_path or libreoffice.python_paths()
    out = libreoffice.build(args.output, paths)
    say(f"wrote {out}: {len(libreoffice.FUNCTIONS)} functions; install it with "
        f"`unopkg add {out}` (LibreOffice closed), its Python reads xlhtx from "
        f"{os.pathsep.join(paths)}")
    return 0
