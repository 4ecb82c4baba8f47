"""What the command line prints for people: notes and progress on stderr (stdout stays
clean for data), with text from outside (file contents, server messages) made printable
so it cannot move the cursor or recolour the terminal."""

from __future__ import annotations

import sys
import unicodedata


def printable(text: object, limit: int = 500) -> str:
    """``text`` with control characters (ESC, BEL, ...) shown as ``\\xNN`` escapes and cut
    to ``limit`` characters."""
    s = str(text)
    out = "".join(c if c in "\n\t" or unicodedata.category(c)[0] != "C" else
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
