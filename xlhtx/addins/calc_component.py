"""The UNO component of xlhtx's LibreOffice Calc extension: one method per HTX_*
function, each handing its arguments to ``xlhtx.addins.calc_bridge``. LibreOffice's own
Python loads this file from the extension; ``xlhtx addin libreoffice`` writes the
extension with the folders where that Python finds xlhtx and its packages (``PATHS``
below, overridden by the environment variable XLHTX_PYTHONPATH)."""

import os
import site
import sys

PATHS: list = []   # written by the builder


def _use(paths):
    """Put ``paths`` first on sys.path, their .pth files read (an editable install of
    xlhtx is found through one), ahead of the system's own packages."""
    before = list(sys.path)
    for p in paths:
        if p:
            site.addsitedir(p)
    added = [p for p in sys.path if p not in before]
    sys.path[:] = added + [p for p in before if p not in added]


_use(os.environ.get("XLHTX_PYTHONPATH", "").split(os.pathsep) + PATHS)

import unohelper  # noqa: E402  (LibreOffice's Python)

IMPLEMENTATION = "org.xlhtx.calc.Functions"
NAMES: list = []   # written by the builder: the Excel functions, in the IDL's order
_CLASS = []


def _method(name):
    def method(self, *args):
        from xlhtx.addins.calc_bridge import call
        return call(name, args)
    method.__name__ = name
    return method


def create(ctx):
    """The component, made when Calc first needs it: the extension's interface type is
    known then (not yet while the extension is being installed), and xlhtx is imported
    by the first call, not by the installation."""
    if not _CLASS:
        from org.xlhtx.calc import XHtxFunctions   # the extension's own IDL

        class Functions(unohelper.Base, XHtxFunctions):
            def __init__(self, ctx):
                self.ctx = ctx

        for name in NAMES:
            setattr(Functions, name, _method(name))
        _CLASS.append(Functions)
    return _CLASS[0](ctx)


JOB = "org.xlhtx.calc.FormulaJob"


def create_job(ctx):
    """The job Calc runs when a document has loaded (Jobs.xcu, event OnLoadFinished; a
    hidden document, as headless Calc loads one, has no OnLoad): a workbook from Excel
    calls the functions by their Excel names, which Calc does not match to an
    extension's functions when it reads the file; the job gives them the extension's
    names and recalculates."""
    from com.sun.star.task import XJob

    class FormulaJob(unohelper.Base, XJob):
        def __init__(self, ctx):
            self.ctx = ctx

        def execute(self, arguments):
            doc = _model(arguments)
            if doc is not None and doc.supportsService(
                    "com.sun.star.sheet.SpreadsheetDocument"):
                if _rename_calls(doc):
                    doc.calculateAll()
            return None

    return FormulaJob(ctx)


def _model(arguments):
    for a in arguments:
        if a.Name == "Environment":
            for e in a.Value:
                if e.Name == "Model":
                    return e.Value
    return None


def _rename_calls(doc):
    """Every formula cell calling an Excel name of ours, rewritten (an array formula
    once, over its whole range). Returns how many."""
    from com.sun.star.sheet.CellFlags import FORMULA
    from xlhtx.addins.calc_bridge import calc_formula
    names = frozenset(NAMES)
    arrays, count = set(), 0
    sheets = doc.getSheets()
    for s in range(sheets.getCount()):
        sheet = sheets.getByIndex(s)
        for a in sheet.queryContentCells(FORMULA).getRangeAddresses():
            block = sheet.getCellRangeByPosition(a.StartColumn, a.StartRow, a.EndColumn,
                                                 a.EndRow).getFormulaArray()
            for i, line in enumerate(block):      # the formulas read in one call a block
                for j, formula in enumerate(line):
                    if "htx_" in formula.lower():
                        count += _rename(sheet, s, a.StartColumn + j, a.StartRow + i,
                                         formula, calc_formula, names, arrays)
    return count


def _rename(sheet, s, col, row, formula, calc_formula, names, arrays):
    """One cell's formula renamed; an array formula once, over its whole range."""
    formula = formula.strip("{}")
    cell = sheet.getCellByPosition(col, row)
    cursor = sheet.createCursorByRange(cell)
    cursor.collapseToCurrentArray()
    r = cursor.getRangeAddress()
    rows, cols = r.EndRow - r.StartRow + 1, r.EndColumn - r.StartColumn + 1
    if rows * cols == 1:
        new = calc_formula(formula, names)
        if new is None:
            return 0
        cell.setFormula(new)
        return 1
    if (s, r.StartColumn, r.StartRow) in arrays:
        return 0
    arrays.add((s, r.StartColumn, r.StartRow))
    new = calc_formula(formula, names, (rows, cols))
    if new is None:
        return 0
    cursor.setArrayFormula(new)
    return 1


g_ImplementationHelper = unohelper.ImplementationHelper()
g_ImplementationHelper.addImplementation(create, IMPLEMENTATION, ("com.sun.star.sheet.AddIn",))
g_ImplementationHelper.addImplementation(create_job, JOB, ("com.sun.star.task.Job",))
