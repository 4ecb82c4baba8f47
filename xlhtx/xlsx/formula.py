"""Formulas read through openpyxl's tokenizer, with their references resolved.

A formula is parsed once into a ``Template``: its tokens, each reference operand replaced
by a ``Ref`` whose rows are either absolute or *relative to the formula's cell*. Cells of
one column whose templates are equal compute the same thing row after row, which is what
lets a recalculation evaluate a whole column at once.

* A1 references: ``$A$1``, ``A1:B2``, ``'My sheet'!A1``, ``A:A``, ``1:3``.
* Table structured references (``xlhtx.xlsx.structured``): ``[#This Row]`` references
  move with the cell; the others are absolute.
* Defined names that stand for a cell or a range.

A template renders back to A1 text for a given row (for the formula engine), with every
reference absolute and sheet-qualified.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from openpyxl.formula.tokenizer import Token, Tokenizer

from xlhtx.errors import XlhtxError
from xlhtx.xlsx.package import MAX_ROW
from xlhtx.xlsx.refs import Context, Ref, parse_a1, render_ref, split_sheet
from xlhtx.xlsx.structured import StructuredRefError, resolve_structured


class FormulaError(XlhtxError):
    """A formula headless recalculation cannot take on; the message names it."""


EXTERNAL = re.compile(r"^'?\[[^\]]*\]")


class Template(NamedTuple):
    """A formula relative to its cell: text tokens and ``Ref``s."""
    parts: tuple[Any, ...]

    @property
    def refs(self) -> list[Ref]:
        return [p for p in self.parts if isinstance(p, Ref)]

    def render(self, row: int) -> str:
        return "=" + "".join(render_ref(p, row) if isinstance(p, Ref) else p for p in self.parts)


def tokens(text: str) -> list[Token]:
    try:
        return Tokenizer(text).items
    except Exception as e:   # the tokenizer's own words name the position
        raise FormulaError(f"{text[:80]}: cannot read this formula ({e})") from None


def template(text: str, sheet: str, row: int, col: int, ctx: Context, *,
             moving: bool) -> Template:
    """``text`` (with its leading ``=``) as a template of the cell (``sheet``, ``row``,
    ``col``). ``moving``: A1 rows without ``$`` are relative to the cell (a formula filled
    down); otherwise A1 references are where they point from this cell."""
    parts: list[Any] = []
    for tok in tokens(text):
        if tok.type == Token.OPERAND and tok.subtype == Token.RANGE:
            parts.append(_operand(tok.value, sheet, row, col, ctx, moving))
        else:
            parts.append(tok.value)
    return Template(tuple(parts))


def _operand(value: str, sheet: str, row: int, col: int, ctx: Context,
             moving: bool) -> Ref | str:
    if EXTERNAL.match(value):
        raise FormulaError(f"{value} refers to another workbook; xlhtx reads nothing "
                           "outside the workbook")
    if "[" in value:
        try:
            return resolve_structured(value, ctx.tables, sheet, row, col)
        except StructuredRefError as e:
            raise FormulaError(str(e)) from None
    ref = parse_a1(value, sheet, ctx, row if moving else None)
    if ref is not None:
        return ref
    scope, name = split_sheet(value)
    key = name.upper()
    target = ctx.names.get((ctx.sheets.get(scope.upper(), scope) if scope else sheet, key)) \
        or ctx.names.get((None, key))
    if target is None:
        return value   # an unknown name: Excel shows #NAME?, and so does the engine
    ref = parse_a1(target.lstrip("="), sheet, ctx)
    if ref is None:
        raise FormulaError(f"the name {name} stands for {target[:60]}; headless "
                           "recalculation takes names of a cell or range only")
    return ref


# --------------------------------------------------------------- grouping rows

DIGITS = re.compile(r"\d+")


class Shape(NamedTuple):
    """How the digit runs of a formula's text map to rows of its A1 references, so other
    cells with the same text between the digits get their template without tokenizing."""
    roles: tuple[int, ...]   # per digit run: 0 = not a row, 1 = a relative row, 2 = absolute row


def shape_of(text: str, ctx: Context) -> Shape | None:
    """The digit-run roles of ``text``, or None when they cannot be told apart by position
    (a digit run inside a structured or named reference, for instance)."""
    roles = []
    for tok in tokens(text):
        v = tok.value
        if tok.type == Token.OPERAND and tok.subtype == Token.RANGE:
            if "[" in v or parse_a1(v, "", ctx) is None:
                if DIGITS.search(v):
                    return None
                continue
            _, ref = split_sheet(v)
            start = len(v) - len(ref)
            for m in DIGITS.finditer(v):
                if m.start() < start:
                    roles.append(0)   # digits of a sheet name
                else:
                    absolute = v[m.start() - 1] == "$"
                    roles.append(2 if absolute else 1)
        else:
            roles += [0] * len(DIGITS.findall(v))
    return Shape(tuple(roles))


def row_key(text: str, row: int, shape: Shape) -> tuple | None:
    """A key equal for cells whose formulas are the same relative to their rows."""
    runs = DIGITS.findall(text)
    if len(runs) != len(shape.roles):
        return None
    key = []
    for d, role in zip(runs, shape.roles):
        if role == 1:
            n = int(d)
            if not 1 <= n <= MAX_ROW:
                return None
            key.append(n - row)
        else:
            key.append(d)
    return tuple(key)
