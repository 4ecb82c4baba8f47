"""Load xlwings' real Windows UDF machinery on Linux: the COM modules it imports
(``pythoncom``, ``pywintypes``, ``win32com.client``) are stubbed, so ``xlwings.udfs``
imports, its decorators record their metadata on a fresh copy of ``xlhtx.excel.udfs`` and its
own VBA wrapper generator runs on it."""

from __future__ import annotations

import importlib
import importlib.util
import io
import sys
import types
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _stub_modules() -> dict[str, types.ModuleType]:
    pythoncom = types.ModuleType("pythoncom")
    pythoncom.CoInitialize = lambda: None
    pythoncom.IID_IDispatch = object()
    pythoncom.CoMarshalInterThreadInterfaceInStream = lambda *a: None
    pythoncom.CoGetInterfaceAndReleaseStream = lambda *a: None
    pywintypes = types.ModuleType("pywintypes")

    class com_error(Exception):
        pass

    pywintypes.com_error = com_error
    win32com = types.ModuleType("win32com")
    client = types.ModuleType("win32com.client")
    client.Dispatch = lambda *a, **k: None
    win32com.client = client
    return {"pythoncom": pythoncom, "pywintypes": pywintypes, "win32com": win32com,
            "win32com.client": client}


# Excel's error values as COM hands them to Python (xlwings' _xlwindows.cell_errors)
CELL_ERRORS = {-2146826281: "#DIV/0!", -2146826246: "#N/A", -2146826259: "#NAME?",
               -2146826288: "#NULL!", -2146826252: "#NUM!", -2146826265: "#REF!",
               -2146826273: "#VALUE!"}


class ExcelEngineStandIn:
    """What xlwings' converters ask of its Windows engine when a UDF is called (the
    same cleaning rules as ``xlwings._xlwindows``: "" and None -> empty, error codes ->
    None), so values reach the UDF as they would in Excel. Dates are not needed here."""

    name = "excel"
    type = "desktop"
    apps = None

    @staticmethod
    def clean_value_data(data, datetime_builder, empty_as, number_builder, err_to_str):
        def one(v):
            if v in ("", None):
                return empty_as
            if number_builder is not None and isinstance(v, float):
                return number_builder(v)
            if isinstance(v, int) and not isinstance(v, bool) and v in CELL_ERRORS:
                return CELL_ERRORS[v] if err_to_str else None
            return v
        return [[one(c) for c in row] for row in data]

    @staticmethod
    def prepare_xl_data_element(x, date_format):
        import numpy as np
        if x is None or (isinstance(x, (float, np.floating)) and np.isnan(x)):
            return ""
        if isinstance(x, np.number):
            return float(x)
        return x


@contextmanager
def windows_udfs():
    """Yields ``(xlwings.udfs, module)``: xlwings' UDF module and a copy of
    ``xlhtx.excel.udfs`` decorated by xlwings' real ``xlfunc``/``xlarg``/``xlret``."""
    import xlwings

    stubs = _stub_modules()
    saved = {k: sys.modules.get(k) for k in [*stubs, "xlwings.udfs"]}
    saved_attrs = {k: getattr(xlwings, k) for k in ("func", "arg", "ret")}
    sys.modules.update(stubs)
    added_engine = "excel" not in xlwings.engines.engines_by_name
    if added_engine:
        xlwings.engines.add(xlwings.main.Engine(impl=ExcelEngineStandIn()))
    try:
        sys.modules.pop("xlwings.udfs", None)
        xlu = importlib.import_module("xlwings.udfs")
        xlwings.func, xlwings.arg, xlwings.ret = xlu.xlfunc, xlu.xlarg, xlu.xlret
        spec = importlib.util.spec_from_file_location("xlhtx_udfs_windows",
                                                      ROOT / "xlhtx" / "excel" / "udfs.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield xlu, module
    finally:
        if added_engine:
            engine = xlwings.engines.engines_by_name.pop("excel")
            xlwings.engines.engines.remove(engine)
        for k, v in saved_attrs.items():
            setattr(xlwings, k, v)
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def vba_for(xlu, module) -> str:
    """The VBA that "Import Functions" would put in the workbook."""
    book = types.SimpleNamespace(Name="xlhtx.xlsm")
    buf = io.StringIO()
    xlu.generate_vba_wrapper("xlhtx.excel.udfs", module, buf, book)
    return buf.getvalue()


def excel_call(module, name: str, *cells):
    """Call a UDF the way xlwings' ``call_udf`` does: missing optional arguments take
    their defaults, every value goes through ``xlwings.conversion.read`` with the
    argument's options, the result through ``conversion.write``, and a 1x1 or 1xN
    result is unwrapped as ``com_server.CallUDF`` does before it reaches Excel."""
    from xlwings import conversion

    f = getattr(module, name)
    info = f.__xlfunc__
    args = []
    for i, arg_info in enumerate(info["args"]):
        if i < len(cells):
            args.append(conversion.read(None, cells[i], arg_info["options"]))
        else:
            args.append(arg_info.get("optional"))
    res = conversion.write(f(*args), None, info["ret"]["options"])
    if len(res) == 1 and len(res[0]) == 1:
        return res[0][0]
    if len(res) == 1:
        return res[0]
    return res
