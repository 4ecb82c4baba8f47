"""What runs inside LibreOffice Calc when a cell calls an HTX_* function (``call``: Calc's
values to the Excel function and its rows back, ``rows`` does the shaping), and the
renaming of Excel's names in a file Calc opens (``calc_formula``). Nothing here imports
LibreOffice's ``uno``: the extension's component (``calc_component``) does, and hands
its arguments over.
"""

from __future__ import annotations

import re

from xlhtx.addins.rows import array_size, as_rows, called, padded

# how Calc names the extension's functions in a formula it holds
PROGRAMMATIC = "ORG.XLHTX.CALC.FUNCTIONS."


def call(name: str, args: tuple) -> tuple:
    """Excel function ``name`` on Calc's ``args`` (in the declaration's order, omitted
    ones None, then the extension's own ``array_size``), its result for Calc, padded to
    the array size when one is given. An error is its message."""
    from xlhtx.excel.registry import FUNCTIONS
    n = len(FUNCTIONS[name].args)
    size = array_size(args[n]) if len(args) > n else None
    return padded(called(name, [None if a is None else as_rows(a) for a in args[:n]]), size)


# an Excel-named call as Calc reads it from an .xlsx/.xlsm it does not know the name of
# (lower-cased, sometimes with Excel's _xll. prefix for add-in functions)
_CALL = re.compile(r"(?<![\w.])(?:_xll\.)?(htx_[a-z0-9]+)\s*\(", re.I)
_CELL = re.compile(r"^(?:\$?'?[^;()'\"]+'?\.)?\$?[A-Z]{1,3}\$?[0-9]{1,7}$"
                   r"|^[A-Za-z_][\w.]*\[\[#This Row\];\[[^\[\]]+\]\]$")


def calc_formula(formula: str, names: frozenset[str],
                 size: tuple[int, int] | None = None) -> str | None:
    """A formula Calc read from an Excel file, with every call of an Excel function in
    ``names`` given the extension's name, and each argument that is one cell (``A2``,
    ``Positions[[#This Row];[Margin]]``) read so that an empty cell stays empty: Calc
    hands an empty cell to an add-in as 0, which would make an empty Margin a margin of
    0, where Excel hands over nothing. ``size``: the array formula's rows and columns,
    given to a formula that is one call (its result is padded to them, as Excel leaves
    the cells past a spill empty). None when the formula calls none."""
    parts = re.split(r'("(?:[^"]|"")*")', formula)   # text in quotes is left alone
    changed = False
    for k in range(0, len(parts), 2):
        def named(m: re.Match) -> str:
            nonlocal changed
            name = m.group(1).upper()
            if name not in names:
                return m.group(0)
            changed = True
            return f"{PROGRAMMATIC}{name}("
        parts[k] = _CALL.sub(named, parts[k])
    if not changed:
        return None
    out = _kept_blank("".join(parts))
    return _with_size(out, names, size) if size else out


def _with_size(formula: str, names: frozenset[str], size: tuple[int, int]) -> str:
    """The one call a formula is, with its arguments filled out and the array size last."""
    from xlhtx.excel.registry import FUNCTIONS
    m = re.match(r"=" + re.escape(PROGRAMMATIC) + r"(HTX_[A-Z0-9]+)\(", formula)
    if not m or m.group(1) not in names:
        return formula
    args, end = _arguments(formula, m.end())
    if formula[end + 1:].strip():
        return formula   # more than the call: its result is not the array's
    n = len(FUNCTIONS[m.group(1)].args)
    args = (args + [""] * n)[:max(n, len(args))]
    return f'{formula[:m.end()]}{";".join(args)};"{size[0]}x{size[1]}")'


def _kept_blank(formula: str) -> str:
    """Every argument of an extension call that is one cell, empty kept empty."""
    out, i = [], 0
    while True:
        j = formula.find(PROGRAMMATIC, i)
        if j < 0:
            out.append(formula[i:])
            return "".join(out)
        open_at = formula.index("(", j)
        out.append(formula[i:open_at + 1])
        args, end = _arguments(formula, open_at + 1)
        out.append(";".join(_blank_as_empty(_kept_blank(a)) for a in args) + ")")
        i = end + 1


def _arguments(formula: str, start: int) -> tuple[list[str], int]:
    """The top-level arguments of the call whose "(" is before ``start`` and where its
    ")" is."""
    args, depth, quoted, k, begin = [], 0, False, start, start
    while k < len(formula):
        ch = formula[k]
        if ch == '"':
            quoted = not quoted
        elif not quoted:
            if ch in "({[":
                depth += 1
            elif ch in ")}]" and depth:
                depth -= 1
            elif ch == ")":
                args.append(formula[begin:k])
                return args, k
            elif ch == ";" and depth == 0:
                args.append(formula[begin:k])
                begin = k + 1
        k += 1
    args.append(formula[begin:])
    return args, len(formula) - 1


def _blank_as_empty(arg: str) -> str:
    a = arg.strip()
    return f'IF(ISBLANK({a});"";{a})' if _CELL.match(a) else arg
