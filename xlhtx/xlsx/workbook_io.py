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
            if "[Content_Types].xml" not in z.namelist():
                raise WorkbookError(f"{path}: not a workbook (no [Content_Types].xml)")
            for i in infos:
                if i.filename.endswith((".xml", ".rels", ".vml")):
                    with z.open(i) as f:
                        head = f.read(4096)
                    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                        raise WorkbookError(f"{path}: refused: part {i.filename} declares "
                                            "XML entities (an XML bomb?)")
    except zipfile.BadZipFile as e:
        raise WorkbookError(f"{path}: corrupt workbook: {e}") from None


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
