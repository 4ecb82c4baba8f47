"""Drives a real headless LibreOffice Calc over UNO, for the extension's tests. Runs
under LibreOffice's Python (Debian: /usr/bin/python3 with python3-uno), not the test
suite's: reads one JSON request on stdin, prints one JSON answer.

Request: {"profile": DIR, "file": PATH or null (a new sheet), "steps": [...]}, each step
one of {"set": [CELL, VALUE]} (a text starting with "=" is a formula, null empties the
cell), {"array": [RANGE, FORMULA]}, {"read": [CELL or RANGE, ...]},
{"formulas": [SHEET, ...]} (every formula cell with its formula, text and number),
{"calculate": true} and {"timed": [CELL or RANGE, FORMULA]} (the seconds to enter the
formula, an array formula over a range, and read its value, its last cell's for a range,
in "times"). CELL is "Sheet.A1" or "A1" (the first sheet).
"""

import json
import os
import subprocess
import sys
import time

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.sheet.CellFlags import FORMULA


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def connect(profile):
    pipe = f"xlhtxcalc{os.getpid()}"
    office = subprocess.Popen(
        ["soffice", "--headless", "--invisible", "--norestore", "--nologo",
         "--nodefault", f"-env:UserInstallation={uno.systemPathToFileUrl(profile)}",
         f"--accept=pipe,name={pipe};urp;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.time() + 60
    while True:
        try:
            ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            break
        except Exception:
            if time.time() > deadline or office.poll() is not None:
                office.kill()
                raise SystemExit("LibreOffice did not start")
            time.sleep(0.2)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    return office, desktop


def where(doc, ref):
    if "." in ref:
        sheet, ref = ref.rsplit(".", 1)
        return doc.Sheets.getByName(sheet.strip("$'")).getCellRangeByName(ref)
    return doc.Sheets.getByIndex(0).getCellRangeByName(ref)


def value(cell):
    t = cell.getType().value
    if t == "EMPTY":
        return None
    if cell.getError():
        return {"error": cell.getError(), "text": cell.getString()}
    if t == "TEXT" or (t == "FORMULA" and cell.FormulaResultType2 == 2):
        return cell.getString()
    return cell.getValue()


def read(doc, ref):
    r = where(doc, ref)
    if ":" not in ref:
        return value(r)
    a = r.getRangeAddress()
    return [[value(r.getCellByPosition(c, k)) for c in range(a.EndColumn - a.StartColumn + 1)]
            for k in range(a.EndRow - a.StartRow + 1)]


def formulas(doc, name):
    sheet = doc.Sheets.getByName(name)
    out = []
    for a in sheet.queryContentCells(FORMULA).getRangeAddresses():
        for row in range(a.StartRow, a.EndRow + 1):
            for col in range(a.StartColumn, a.EndColumn + 1):
                c = sheet.getCellByPosition(col, row)
                out.append([row, col, c.getFormula(), value(c)])
    return out


def main():
    req = json.load(sys.stdin)
    office, desktop = connect(req["profile"])
    answer = {"reads": [], "formulas": {}, "times": []}
    try:
        url = uno.systemPathToFileUrl(req["file"]) if req.get("file") else \
            "private:factory/scalc"
        doc = desktop.loadComponentFromURL(url, "_blank", 0, (prop("Hidden", True),))
        for step in req["steps"]:
            if "set" in step:
                ref, v = step["set"]
                c = where(doc, ref)
                if v is None:
                    c.setString("")
                    c.clearContents(1 | 2 | 4 | 16)
                elif isinstance(v, str) and v.startswith("="):
                    c.setFormula(v)
                elif isinstance(v, str):
                    c.setString(v)
                else:
                    c.setValue(v)
            elif "array" in step:
                ref, f = step["array"]
                where(doc, ref).setArrayFormula(f)
            elif "timed" in step:
                ref, f = step["timed"]
                t0 = time.perf_counter()
                r = where(doc, ref)
                if ":" in ref:   # an array formula; its last cell read (one UNO call)
                    r.setArrayFormula(f)
                    a = r.getRangeAddress()
                    value(r.getCellByPosition(0, a.EndRow - a.StartRow))
                else:
                    r.setFormula(f)
                    value(r)
                answer["times"].append(time.perf_counter() - t0)
            elif "calculate" in step:
                doc.calculateAll()
            elif "read" in step:
                answer["reads"].append([read(doc, r) for r in step["read"]])
            elif "formulas" in step:
                for name in step["formulas"]:
                    answer["formulas"][name] = formulas(doc, name)
        doc.close(True)
    finally:
        try:
            desktop.terminate()
        except Exception:
            pass
        try:
            office.wait(timeout=30)
        except subprocess.TimeoutExpired:
            office.kill()
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
