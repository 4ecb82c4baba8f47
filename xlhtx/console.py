"""What the command line prints for people: notes and progress on stderr (stdout stays
clean for data), with text from outside (file contents, server messages) made printable
so it cannot move the cursor or recolour the terminal."""

from __future__ import annotations

import sys
import unicodedata


def printable(text: object, limit: int = 500) -> str:
    """``text`` on one line: control characters (newlines, ESC, BEL, ...) and the Unicode
    line and paragraph separators shown as escapes (``\\n``, ``\\xNN``), cut to ``limit``
    characters. A file name or a server's text can then never start a line of its own
    that reads like xlhtx's."""
    s = str(text)
    out = "".join(c if c == "\t" or unicodedata.category(c)[0] not in "CZ" or c == " " else
                  "\\n" if c == "\n" else "\\r" if c == "\r" else
                  f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}" for c in s)
    return out if len(out) <= limit else out[:limit] + "..."


def say(msg: str) -> None:
    """A note or progress line on stderr."""
    print(printable(msg, limit=10_000), file=sys.stderr, flush=True)


def progress(msg: str) -> None:
    """A step of long work ("reading ...", "computing ..."): shown on a terminal only, so
    logs and pipes get the notes and results, not the chatter."""
    if getattr(sys.stderr, "isatty", lambda: False)():
        say(msg)
