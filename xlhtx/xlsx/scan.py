"""A compiled scanner for the cells of a sheet part, and the writer that splices computed
values into it: the fast path of reading and writing a large sheet.

A Table of 100,000 rows is a sheet part of ~360 MB; parsing it with lxml, building an
element per cell and serializing it again takes most of a headless recalculation. Sheets
as Excel, XlsxWriter and LibreOffice write them follow a narrow form, which ``scan_nb``
reads at memory speed:

* ``<row r="N" ...>`` holding cells, ``<c r="A1" ...>`` with attributes among ``r s t cm
  vm ph``, children an optional ``<f ...>`` (attributes among ``t ref si ca aca bx``)
  followed by an optional ``<v>``, or without ``<f>`` an inline string
  ``<is><t>...</t></is>`` as openpyxl writes it; no whitespace between elements, no prefixes, no
  comments, CDATA or processing instructions, no ``&`` in attribute values, no character
  XML forbids, ``r`` attributes in upper-case A1 form.

Anything else (rich inline text, pretty-printed XML, a namespace prefix, ...) makes the scan give up (a negative return) and the caller reads the sheet
with lxml (``package.read_cells``/``sheet_chunks``), so the fast path changes speed, never
results: ``tests/test_scan.py`` checks both paths agree on random and hostile sheets.
The XML around ``<sheetData>`` is parsed by lxml as before (``sheet_frame``).

Array conventions: ``buf`` is the part as ``uint8``; the scan returns one row of
``CELL_FIELDS`` int64 per cell (offsets into ``buf``, -1 for "absent") and, per cell,
whether its formula text equals the previous formula of its column (so a column of a
calculated Table formula is decoded once).
"""

from __future__ import annotations

import html
import re
from typing import Any, Iterator, NamedTuple

import numpy as np
from lxml import etree
from numba import njit

# columns of the cell table
(ROW, COL, START, END, OPEN_END, T_S, T_E, TV_S, TV_E, CM_S, CM_E, F_S, F_E, FT_S, FT_E,
 FK_S, FK_E, REF_S, REF_E, SI_S, SI_E, V_S, V_E, VT_S, VT_E, FLAGS) = range(26)
CELL_FIELDS = 26
# FLAGS bits: a text holds an entity or a carriage return, to be decoded in Python; the
# value is an inline string (``<is><t>``: V_S..V_E is the ``<is>``, VT_S..VT_E its text)
F_AMP, F_CR, V_AMP, V_CR, V_IS = 1, 2, 4, 8, 16
MAX_COLUMN = 18_278   # ZZZ: three letters
NO_FORMULA = -2
BLOCK = 1 << 15       # cells scanned per block: the table stays small and warm
MAX_ROW_CELLS = 16_384   # a longer row (repeated cells) is left to lxml

LT, GT, SLASH, EQ, AMP, QUOT, APOS, RBR = (ord(c) for c in "<>/=&\"']")

# attribute names the fast path accepts, by element
_C_ATTRS = (b"r", b"s", b"t", b"cm", b"vm", b"ph")
_F_ATTRS = (b"t", b"ref", b"si", b"ca", b"aca", b"bx")


def _packed(names: tuple[bytes, ...]) -> np.ndarray:
    out = np.zeros((len(names), 4), np.uint8)
    for i, n in enumerate(names):
        out[i, :len(n)] = np.frombuffer(n, np.uint8)
    return out


C_ATTRS = _packed(_C_ATTRS)
F_ATTRS = _packed(_F_ATTRS)


def _bytes(text: bytes) -> np.ndarray:
    return np.frombuffer(text, np.uint8).copy()


X14AC, XMLNS, ROW_OPEN, ROW_CLOSE = (_bytes(b) for b in (b"x14ac:", b"xmlns", b"<row",
                                                          b"</row"))
V_OPEN, V_CLOSE, C_CLOSE = (_bytes(b) for b in (b"<v>", b"</v>", b"</c>"))
# an inline string as openpyxl writes it (xml:space when the text has outer spaces)
IS_OPEN, IS_CLOSE, T_OPEN, T_KEEP, T_KEEP1 = (_bytes(b) for b in (
    b"<is>", b"</t></is>", b"<t>", b'<t xml:space="preserve">', b"<t xml:space='preserve'>"))


@njit(cache=True)
def is_space_nb(b):
    return b == 32 or b == 9 or b == 10 or b == 13


@njit(cache=True)
def skip_space_nb(buf, i, end):
    while i < end and is_space_nb(buf[i]):
        i += 1
    return i


@njit(cache=True)
def is_name_char_nb(b, first):
    letter = (65 <= b <= 90) or (97 <= b <= 122) or b == 95
    return letter if first else (letter or (48 <= b <= 57) or b == 45 or b == 46)


@njit(cache=True)
def name_end_nb(buf, i, end):
    """End of an ASCII XML name without a prefix at ``i`` (``i`` when there is none)."""
    if i >= end or not is_name_char_nb(buf[i], True):
        return i
    i += 1
    while i < end and is_name_char_nb(buf[i], False):
        i += 1
    return i


@njit(cache=True)
def starts_nb(buf, i, end, word):
    if i + len(word) > end:
        return False
    for k in range(len(word)):
        if buf[i + k] != word[k]:
            return False
    return True


@njit(cache=True)
def known_nb(buf, s, e, names):
    """Index of name ``buf[s:e]`` in the packed ``names``, -1 when not there."""
    n = e - s
    for k in range(names.shape[0]):
        if n > 4 or (n < 4 and names[k, n] != 0):
            continue
        same = True
        for j in range(n):
            if buf[s + j] != names[k, j]:
                same = False
                break
        if same:
            return k
    return -1


@njit(cache=True)
def attribute_nb(buf, i, end):
    """``(name_start, name_end, value_start, value_end, next)`` of the attribute at ``i``
    (after its leading whitespace); ``next`` < 0 when it is not one the fast path takes:
    a value holding ``<``, ``&`` or a tab or line break (XML would rewrite them)."""
    s = i
    e = name_end_nb(buf, i, end)
    if e == s:
        return s, e, 0, 0, -1
    i = skip_space_nb(buf, e, end)
    if i >= end or buf[i] != EQ:
        return s, e, 0, 0, -1
    i = skip_space_nb(buf, i + 1, end)
    if i >= end or (buf[i] != QUOT and buf[i] != APOS):
        return s, e, 0, 0, -1
    quote = buf[i]
    vs = i + 1
    j = vs
    while j < end and buf[j] != quote:
        b = buf[j]
        if b == LT or b == AMP or b < 32 or b > 127:
            return s, e, 0, 0, -1
        j += 1
    if j >= end:
        return s, e, 0, 0, -1
    return s, e, vs, j, j + 1


@njit(cache=True)
def text_nb(buf, i, end):
    """``(end of the text at i, has '&', has CR)``; end < 0 for a character XML forbids
    or ``]]>``."""
    amp = False
    cr = False
    while i < end:
        b = buf[i]
        if b == LT:
            return i, amp, cr
        if b < 32:
            if b == 13:
                cr = True
            elif b != 9 and b != 10:
                return -1, amp, cr
        elif b == AMP:
            amp = True
        elif b == RBR and i + 2 < end and buf[i + 1] == RBR and buf[i + 2] == GT:
            return -1, amp, cr
        i += 1
    return -1, amp, cr


@njit(cache=True)
def end_tag_nb(buf, i, end, letter):
    """Position after ``</x>`` (``x`` one letter) at ``i``; -1 when not there."""
    if i + 3 > end or buf[i] != LT or buf[i + 1] != SLASH or buf[i + 2] != letter:
        return -1
    i = skip_space_nb(buf, i + 3, end)
    if i >= end or buf[i] != GT:
        return -1
    return i + 1


@njit(cache=True)
def open_tag_nb(buf, i, end, letter):
    """Position after ``<x`` when an element ``x`` (one letter) starts at ``i``, else -1."""
    if i + 2 >= end or buf[i] != LT or buf[i + 1] != letter:
        return -1
    b = buf[i + 2]
    if is_space_nb(b) or b == GT or b == SLASH:
        return i + 2
    return -1


@njit(cache=True)
def tag_close_nb(buf, i, end):
    """After an element's attributes: (position after ``>`` or ``/>``, empty element)."""
    if i < end and buf[i] == GT:
        return i + 1, False
    if i + 1 < end and buf[i] == SLASH and buf[i + 1] == GT:
        return i + 2, True
    return -1, False


@njit(cache=True)
def digits_nb(buf, s, e):
    """The whole number written in ``buf[s:e]`` (1 to 9 digits), -1 otherwise."""
    if e <= s or e - s > 9:
        return -1
    n = 0
    for k in range(s, e):
        b = buf[k]
        if b < 48 or b > 57:
            return -1
        n = n * 10 + (b - 48)
    return n


@njit(cache=True)
def column_nb(buf, s, e):
    """Column number of an A1 reference ``buf[s:e]`` (upper case), -1 otherwise."""
    col = 0
    k = s
    while k < e and 65 <= buf[k] <= 90:
        col = col * 26 + (buf[k] - 64)
        k += 1
    if k == s or k - s > 3 or digits_nb(buf, k, e) < 0:
        return -1
    return col


@njit(cache=True)
def next_in_tag_nb(buf, j, end):
    """After position ``j`` in an open tag: (where the next attribute or ``>``/``/>``
    starts, -1 when an attribute follows without the space XML requires; the position
    after ``>``/``/>`` or -1 when an attribute follows; an empty element)."""
    k = skip_space_nb(buf, j, end)
    close, empty = tag_close_nb(buf, k, end)
    if close < 0 and k == j:
        return -1, -1, False
    return k, close, empty


@njit(cache=True)
def row_open_nb(buf, i, end, allow_x14ac, starts, lens):
    """``(row number, position after the tag, empty row)`` of ``<row ...>`` at ``i``;
    row number -1 when it is not one the fast path takes."""
    if not starts_nb(buf, i, end, ROW_OPEN):
        return -1, i, False
    i += 4
    row = -1
    n = 0
    while True:
        j, close, empty = next_in_tag_nb(buf, i, end)
        if close >= 0:
            return row, close, empty
        if j < 0 or n == 16:
            return -1, i, False
        s, e, vs, ve, nxt = attribute_nb(buf, j, end)
        if nxt < 0:
            # a prefixed name: only Excel's x14ac:dyDescent style, when declared
            if not (allow_x14ac and starts_nb(buf, j, end, X14AC)):
                return -1, i, False
            s, e, vs, ve, nxt = attribute_nb(buf, j + 6, end)
            if nxt < 0:
                return -1, i, False
            s = j
        if starts_nb(buf, s, e, XMLNS):
            return -1, i, False
        for k in range(n):   # a repeated attribute is an XML error: left to lxml
            if lens[k] == e - s and starts_nb(buf, s, e, buf[starts[k]:starts[k] + lens[k]]):
                return -1, i, False
        starts[n] = s
        lens[n] = e - s
        n += 1
        if e - s == 1 and buf[s] == 114:
            row = digits_nb(buf, vs, ve)
            if row <= 0:
                return -1, i, False
        i = nxt


@njit(cache=True)
def attributes_nb(buf, j, end, names, spans):
    """The attributes of an element whose name ends at ``j``: each one of ``names``, at
    most once; ``spans[k]`` = (start with its leading space, end, value start, value
    end) of name ``k``, -1 when absent. Returns (where ``>`` or ``/>`` is, the position
    after it, an empty element); -1 first when the fast path does not take them."""
    spans[:] = -1
    seen = 0
    while True:
        k, close, empty = next_in_tag_nb(buf, j, end)
        if close >= 0:
            return k, close, empty
        if k < 0:
            return -1, -1, False
        s, e, vs, ve, nxt = attribute_nb(buf, k, end)
        if nxt < 0:
            return -1, -1, False
        a = known_nb(buf, s, e, names)
        if a < 0 or seen & (1 << a):
            return -1, -1, False
        seen |= 1 << a
        spans[a, 0], spans[a, 1], spans[a, 2], spans[a, 3] = j, nxt, vs, ve
        j = nxt


@njit(cache=True)
def cell_nb(buf, i, end, row, cells, n, last, spans):
    """Fill row ``n`` of ``cells`` from the ``<c>`` at ``i``; returns (the position after
    it, -1 when the cell is not one the fast path takes; whether its formula repeats the
    previous plain formula of its column). ``last[column]`` holds that formula's text
    span and flags (``NO_FORMULA`` before the first)."""
    out = cells[n]
    j = open_tag_nb(buf, i, end, 99)   # c
    if j < 0:
        return -1, False
    out[:] = -1
    out[ROW] = row
    out[START] = i
    out[FLAGS] = 0
    repeat = False
    k, close, empty = attributes_nb(buf, j, end, C_ATTRS, spans)
    if k < 0 or spans[0, 0] < 0:   # no r: left to lxml, which names the cell
        return -1, False
    out[OPEN_END] = k
    out[COL] = column_nb(buf, spans[0, 2], spans[0, 3])
    if out[COL] < 0:
        return -1, False
    out[T_S], out[T_E], out[TV_S], out[TV_E] = spans[2]
    out[CM_S], out[CM_E] = spans[3, 0], spans[3, 1]
    if empty:
        out[END] = close
        return close, False
    i = close
    f = open_tag_nb(buf, i, end, 102)   # f
    if f >= 0:
        out[F_S] = i
        k, fclose, fempty = attributes_nb(buf, f, end, F_ATTRS, spans)
        if k < 0:
            return -1, False
        out[FK_S], out[FK_E] = spans[0, 2], spans[0, 3]
        out[REF_S], out[REF_E] = spans[1, 2], spans[1, 3]
        out[SI_S], out[SI_E] = spans[2, 2], spans[2, 3]
        col = out[COL]
        plain = out[FK_S] < 0 and out[REF_S] < 0 and out[SI_S] < 0
        ps, pe, pflags = last[col, 0], last[col, 1], last[col, 2]
        had = plain and ps != NO_FORMULA
        if fempty:
            i = fclose
            repeat = had and pe == ps
            if plain:
                last[col, 0], last[col, 1], last[col, 2] = -1, -1, 0
        else:
            te = -1
            if had:   # a calculated column: the same bytes as the cell above
                te = fclose + (pe - ps)
                if te < end and buf[te] == LT and same_text_nb(buf, ps, pe, fclose, te):
                    amp = (pflags & F_AMP) != 0
                    cr = (pflags & F_CR) != 0
                    repeat = True
                else:
                    te = -1
            if te < 0:
                te, amp, cr = text_nb(buf, fclose, end)
            if te < 0:
                return -1, False
            flags = (F_AMP if amp else 0) | (F_CR if cr else 0)
            if plain:
                last[col, 0], last[col, 1], last[col, 2] = fclose, te, flags
            out[FT_S], out[FT_E] = fclose, te
            out[FLAGS] |= flags
            i = end_tag_nb(buf, te, end, 102)
            if i < 0:
                return -1, False
        out[F_E] = i
    v = open_tag_nb(buf, i, end, 118)   # v, without attributes
    if v >= 0:
        out[V_S] = i
        vclose, vempty = tag_close_nb(buf, skip_space_nb(buf, v, end), end)
        if vclose < 0:
            return -1, False
        if vempty:
            i = vclose
        else:
            te, amp, cr = text_nb(buf, vclose, end)
            if te < 0:
                return -1, False
            value_text_nb(out, vclose, te, amp, cr)
            i = end_tag_nb(buf, te, end, 118)
            if i < 0:
                return -1, False
        out[V_E] = i
    elif out[F_S] < 0 and starts_nb(buf, i, end, IS_OPEN):
        i = inline_nb(buf, i, end, out)
        if i < 0:
            return -1, False
    i = end_tag_nb(buf, i, end, 99)
    out[END] = i
    return i, repeat


@njit(cache=True)
def value_text_nb(out, s, e, amp, cr):
    """Record a value's text ``buf[s:e]`` in the cell row ``out`` (none when empty) and
    whether it needs decoding in Python."""
    if e > s:
        out[VT_S], out[VT_E] = s, e
    out[FLAGS] |= (V_AMP if amp else 0) | (V_CR if cr else 0)


@njit(cache=True)
def inline_nb(buf, i, end, out):
    """The inline string ``<is><t>text</t></is>`` at ``i`` into the value fields of
    ``out``; the position after it, -1 for any other (rich text, ``<t/>``, attributes):
    those are left to lxml."""
    s = i
    i += len(IS_OPEN)
    if starts_nb(buf, i, end, T_OPEN):
        i += len(T_OPEN)
    elif starts_nb(buf, i, end, T_KEEP):
        i += len(T_KEEP)
    elif starts_nb(buf, i, end, T_KEEP1):
        i += len(T_KEEP1)
    else:
        return -1
    te, amp, cr = text_nb(buf, i, end)
    if te < 0 or not starts_nb(buf, te, end, IS_CLOSE):
        return -1
    value_text_nb(out, i, te, amp, cr)
    out[FLAGS] |= V_IS
    out[V_S], out[V_E] = s, te + len(IS_CLOSE)
    return out[V_E]


@njit(cache=True)
def same_text_nb(buf, s1, e1, s2, e2):
    if e1 - s1 != e2 - s2:
        return False
    for k in range(e1 - s1):
        if buf[s1 + k] != buf[s2 + k]:
            return False
    return True


@njit(cache=True)
def scan_nb(buf, i, end, allow_x14ac, cells, repeat, last, room):
    """Scan rows of ``buf[i:end]`` (the content of ``<sheetData>``) into ``cells``, and
    stop before a row once ``room`` cells are filled; returns (cells filled, or -1 when
    the scan gave up; the position reached). ``repeat[k]`` is True when cell ``k``'s
    formula (a plain one: no attributes) has the same text as the previous plain formula
    of its column, kept in ``last`` from block to block."""
    n = 0
    starts = np.empty(16, np.int64)   # attribute names of a row, for repeats
    lens = np.empty(16, np.int64)
    spans = np.empty((len(C_ATTRS), 4), np.int64)
    while i < end and n < room:
        row, i2, empty = row_open_nb(buf, i, end, allow_x14ac, starts, lens)
        if row < 0:
            return -1, i
        i = i2
        if empty:
            continue
        while True:
            if starts_nb(buf, i, end, ROW_CLOSE):
                k = skip_space_nb(buf, i + 5, end)
                if k < end and buf[k] == GT:
                    i = k + 1
                    break
                return -1, i
            if n == cells.shape[0]:
                return -1, i
            nxt, again = cell_nb(buf, i, end, row, cells, n, last, spans)
            if nxt < 0:
                return -1, i
            repeat[n] = again
            i = nxt
            n += 1
    return n, i


# ------------------------------------------------------------------ Python side

class Frame(NamedTuple):
    """Where a sheet part's ``<sheetData>`` content lies, and how the part declares its
    names (found by lxml parsing the part without its rows)."""
    start: int
    end: int
    allow_x14ac: bool


def sheet_frame(data: bytes, main: str) -> Frame | None:
    """The frame of a sheet part whose rows the fast path may scan, or None: the part
    around its rows must be well-formed UTF-8 XML with ``main`` as default namespace."""
    open_at = data.find(b"<sheetData")
    close_at = data.rfind(b"</sheetData>")
    if open_at < 0 or close_at < open_at or data.startswith((b"\xef\xbb\xbf", b"\xff",
                                                            b"\xfe")):
        return None
    tag_end = data.find(b">", open_at)
    if tag_end < 0 or tag_end > close_at or data[tag_end - 1:tag_end] == b"/":
        return None
    head = data[:tag_end + 1]
    decl = re.match(rb"<\?xml[^>]*?encoding=[\"']([A-Za-z0-9._-]+)", head)
    if decl and decl.group(1).lower() not in (b"utf-8", b"utf8"):
        return None
    try:
        root = etree.fromstring(head + data[close_at:], etree.XMLParser(
            resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None
    sd = root.find(f"{{{main}}}sheetData")
    if root.nsmap.get(None) != main or sd is None or sd.prefix is not None or len(sd) \
            or sum(1 for _ in root.iter(f"{{{main}}}sheetData")) != 1:
        return None
    return Frame(tag_end + 1, close_at, root.nsmap.get("x14ac") is not None)


class Block(NamedTuple):
    cells: np.ndarray     # (n, CELL_FIELDS), reused by the next block
    repeat: np.ndarray    # (n,) bool
    start: int            # the bytes of the part the block's rows span
    end: int


def blocks(data: bytes, frame: Frame) -> Iterator[Block]:
    """The cells of the rows in ``frame``, a block at a time; raises ``NotFast`` where
    the fast path gives up."""
    buf = np.frombuffer(data, np.uint8)
    cells = np.empty((BLOCK + MAX_ROW_CELLS, CELL_FIELDS), np.int64)
    repeat = np.empty(len(cells), np.bool_)
    last = np.full((MAX_COLUMN + 1, 3), NO_FORMULA, np.int64)
    i = frame.start
    while i < frame.end:
        n, j = scan_nb(buf, i, frame.end, frame.allow_x14ac, cells, repeat, last, BLOCK)
        if n < 0:
            raise NotFast
        yield Block(cells[:n], repeat[:n], i, j)
        i = j


class NotFast(Exception):
    """The fast path declines this part (the caller uses lxml)."""


# a character outside XML 1.0's Char production
_BAD_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|[A-Za-z]+);|&")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def _entity(m: re.Match) -> str:
    name = m.group(1)
    if name is None:
        raise NotFast
    if name[0] != "#":
        if name not in _NAMED:
            raise NotFast
        return _NAMED[name]
    code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
    if code > 0x10FFFF or _BAD_XML.match(chr(code)):   # lxml refuses these: so does it
        raise NotFast
    return chr(code)


def text(data: bytes, s: int, e: int, amp: bool, cr: bool) -> str:
    """The character data of ``data[s:e]`` as an XML parser reports it."""
    try:
        out = data[s:e].decode("utf-8")
    except UnicodeDecodeError:
        raise NotFast from None
    if cr:   # line ends normalized before references are replaced (XML 2.11)
        out = out.replace("\r\n", "\n").replace("\r", "\n")
    if amp:
        out = _ENTITY.sub(_entity, out)
    return out


# ------------------------------------------------------------------------- writing

T_CODES = {None: 0, "b": 1, "e": 2, "str": 3, "s": 4}
T_BYTES = np.frombuffer(b' t="b" t="e" t="str" t="s"', np.uint8).copy()
T_AT = np.array([0, 0, 6, 12, 20, 26], np.int64)   # where each type's spelling ends


def escape(s: str) -> str:
    """Character data as lxml escapes it (``s`` holds only characters XML allows)."""
    return html.escape(s, quote=False).replace("\r", "&#13;")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (a formula's text result may
    carry them)."""
    return _BAD_XML.sub("", text) if _BAD_XML.search(text) else text


@njit(cache=True)
def put_nb(out, o, buf, s, e):
    n = e - s
    out[o:o + n] = buf[s:e]
    return o + n


@njit(cache=True)
def splice_nb(buf, start, end, cells, which, tcode, vals, voff, keep_formulas, out):
    """``buf[start:end]`` with the cells ``which`` (rows of ``cells``, in order) given new cached
    values: type ``tcode`` (0 number, 1 ``b``, 2 ``e``, 3 ``str``, 4 ``s``) and the escaped text
    ``vals[voff[k]:voff[k + 1]]`` (empty: no value). A cell keeps its other attributes
    where they were; a new ``t`` goes last; without formulas the ``<f>`` and ``cm`` go.
    Returns the length written into ``out``."""
    o = 0
    prev = start
    for k in range(which.shape[0]):
        c = cells[which[k]]
        o = put_nb(out, o, buf, prev, c[START])
        # the open tag, dropping the old t (and cm without formulas)
        cut1s, cut1e = c[T_S], c[T_E]
        cut2s, cut2e = (-1, -1) if keep_formulas else (c[CM_S], c[CM_E])
        if cut2s >= 0 and (cut1s < 0 or cut2s < cut1s):
            cut1s, cut1e, cut2s, cut2e = cut2s, cut2e, cut1s, cut1e
        tc = tcode[k]
        tb = T_BYTES[T_AT[tc]:T_AT[tc + 1]]
        p = c[START]
        for q in range(2):
            cs, ce = (cut1s, cut1e) if q == 0 else (cut2s, cut2e)
            if cs >= 0:
                o = put_nb(out, o, buf, p, cs)
                if cs == c[T_S]:   # the new type where the old one was
                    o = put_nb(out, o, tb, 0, len(tb))
                p = ce
        o = put_nb(out, o, buf, p, c[OPEN_END])
        if c[T_S] < 0:
            o = put_nb(out, o, tb, 0, len(tb))
        vs, ve = voff[k], voff[k + 1]
        has_v = ve > vs or tc == 3   # text that ends up empty is still a text value
        if not keep_formulas and not has_v:
            out[o] = SLASH
            out[o + 1] = GT
            o += 2
        else:
            out[o] = GT
            o += 1
            if keep_formulas:
                o = put_nb(out, o, buf, c[F_S], c[F_E])
            if has_v:
                o = put_nb(out, o, V_OPEN, 0, 3)
                o = put_nb(out, o, vals, vs, ve)
                o = put_nb(out, o, V_CLOSE, 0, 4)
            o = put_nb(out, o, C_CLOSE, 0, 4)
        prev = c[END]
    return put_nb(out, o, buf, prev, end)


def rewrite(data: bytes, frame: Frame, value_of: Any, keep_formulas: bool,
            value_xml: Any) -> Iterator[bytes]:
    """``data`` with every formula cell holding ``value_of(row, col)``, in chunks of a
    block of rows; ``value_xml`` gives the (type, text) a value is written as, its text
    safe for XML. Raises ``NotFast`` where the fast path gives up, so call it on parts
    ``blocks`` has read through."""
    yield data[:frame.start]
    out = np.empty(0, np.uint8)
    for b in blocks(data, frame):
        which = np.flatnonzero(b.cells[:, F_S] >= 0)
        tcode = np.empty(len(which), np.int64)
        pieces = []
        for k, (r, c) in enumerate(zip(b.cells[which, ROW].tolist(),
                                       b.cells[which, COL].tolist())):
            t, s = value_xml(value_of(r, c))
            tcode[k] = T_CODES[t]
            pieces.append(b"" if s is None else (escape(s) if t == "str" else s).encode())
        voff = np.zeros(len(which) + 1, np.int64)
        np.cumsum([len(p) for p in pieces], out=voff[1:])
        vals = np.frombuffer(b"".join(pieces) or b"\x00", np.uint8)
        size = b.end - b.start + int(voff[-1]) + 16 * len(which)
        if len(out) < size:
            out = np.empty(size, np.uint8)
        n = splice_nb(np.frombuffer(data, np.uint8), b.start, b.end, b.cells, which, tcode,
                      vals, voff, keep_formulas, out)
        yield out[:n].tobytes()
    yield data[frame.end:]
