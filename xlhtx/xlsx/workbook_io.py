"""Opening workbooks safely: a file that is not a workbook, a zip bomb or an XML bomb is
refused with a clear message before openpyxl parses anything. (openpyxl also parses
with defusedxml when it is installed, which xlhtx requires.)"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any
from xlhtx.errors import XlhtxError
from xlhtx.files import read_from

MAX_UNCOMPRESSED = 1 << 30       # 1 GiB of XML in all
MAX_RATIO = 200                  # compression ratio of any large member
MAX_MEMBERS = 10_000


class WorkbookError(XlhtxError):
    """A workbook that cannot be used, with the reason."""


def check_workbook_file(path: str | Path) -> None:
    path = Path(path)
    read_from(path)
    if not path.exists():
        raise WorkbookError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            head = f.read(8)
        if head == OLE_MAGIC:
            raise WorkbookError(f"{path}: a password-protected (encrypted) workbook or an "
                                "old .xls file; save it in Excel without a password, as "
                                ".xlsx or .xlsm")
        raise WorkbookError(f"{path}: not a workbook (an .xlsx/.xlsm file is a zip archive; "
                            "this one is not)")
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            if len(infos) > MAX_MEMBERS:
                raise WorkbookError(f"{path}: refused: {len(infos)} parts in the archive")
            total = sum(i.file_size for i in infos)
            if total > MAX_UNCOMPRESSED:
                raise WorkbookError(f"{path}: refused: it would unpack to {total >> 20} MiB "
                                    "(a zip bomb?)")
            for i in infos:
                if i.file_size > (1 << 20) and i.file_size > MAX_RATIO * max(i.compress_size, 1):
                    raise WorkbookError(f"{path}: refused: part {i.filename} expands "
                                        f"{i.file_size // max(i.compress_size, 1)}x "
                                        "(a zip bomb?)")
            names = [i.filename for i in infos]
            if len(set(names)) != len(names):
                twice = sorted({n for n in names if names.count(n) > 1})
                raise WorkbookError(f"{path}: refused: the archive holds {twice[0]} more "
                                    "than once (readers would disagree on which copy counts)")
            if "[Content_Types].xml" not in names:
                raise WorkbookError(f"{path}: not a workbook (no [Content_Types].xml)")
            for i in infos:
                if i.filename.endswith((".xml", ".rels", ".vml")) and _declares_entities(z, i):
                    raise WorkbookError(f"{path}: refused: part {i.filename} declares "
                                        "a DOCTYPE or XML entities (an XML bomb?)")
    except zipfile.BadZipFile as e:
        raise WorkbookError(f"{path}: corrupt workbook: {e}") from None


OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")   # encrypted OOXML and .xls are OLE files


def _declares_entities(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Whether an XML part holds ``<!DOCTYPE`` or ``<!ENTITY`` anywhere (read in chunks:
    a declaration after the first kilobytes is still one; Excel writes none)."""
    tail = b""
    with z.open(info) as f:
        while chunk := f.read(1 << 20):
            window = tail + chunk
            if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                return True
            tail = window[-16:]
    return False


def open_workbook(path: str | Path, **kwargs: Any):
    """``openpyxl.load_workbook`` after ``check_workbook_file``; errors as WorkbookError."""
    import openpyxl
    check_workbook_file(path)
    try:
        return openpyxl.load_workbook(path, **kwargs)
    except WorkbookError:
        raise
    except Exception as e:  # openpyxl raises many kinds for a damaged file
        raise WorkbookError(f"{path}: corrupt or unsupported workbook: {e}") from None
