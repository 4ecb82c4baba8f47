"""Column-by-column recalculation against the formula engine cell by cell: every function
evaluated on whole columns gives what it gives cell by cell, on numbers, text, empty
cells, booleans and errors."""

import pytest
from openpyxl import Workbook

import engine_reference
from xlhtx.excel.headless import workbook_model
from xlhtx.xlsx.evaluate import ELEMENTWISE

INPUTS = [3.7, -2.5, 0, 125, "abc", None, True, "#DIV/0!", 1e6, -0.0001, "12", False]

# one use of each whole-column function, on the row's cell A
USES = {
    "IF": 'IF(A{r}>0,A{r},"neg")', "IFERROR": 'IFERROR(1/A{r},"div")',
    "IFNA": 'IFNA(A{r},"na")', "ISNUMBER": "ISNUMBER(A{r})", "ISTEXT": "ISTEXT(A{r})",
    "ISBLANK": "ISBLANK(A{r})", "ISERROR": "ISERROR(1/A{r})", "ISNA": "ISNA(A{r})",
    "ISLOGICAL": "ISLOGICAL(A{r})", "NOT": "NOT(A{r}>0)", "ABS": "ABS(A{r})",
    "ROUND": "ROUND(A{r},1)", "ROUNDUP": "ROUNDUP(A{r},0)", "ROUNDDOWN": "ROUNDDOWN(A{r},0)",
    "INT": "INT(A{r})", "SIGN": "SIGN(A{r})", "SQRT": "SQRT(A{r})", "EXP": "EXP(A{r}/1000)",
    "LN": "LN(A{r})", "LOG10": "LOG10(A{r})", "MOD": "MOD(A{r},7)", "POWER": "POWER(A{r},2)",
    "NA": "IF(A{r}=0,NA(),A{r}&\"x\")",
}


def test_every_whole_column_function_has_a_check():
    assert set(USES) == set(ELEMENTWISE)


@pytest.mark.parametrize("name", sorted(USES))
def test_whole_column_equals_cell_by_cell(tmp_path, name):
    wb = Workbook()
    ws = wb.active
    for r, v in enumerate(INPUTS, start=1):
        ws.cell(row=r, column=1, value=v)
        ws.cell(row=r, column=2, value="=" + USES[name].format(r=r))
        ws.cell(row=r, column=3, value=f'=IFERROR(B{r}*2,"x")')   # operators on the results
    path = tmp_path / "f.xlsx"
    wb.save(path)
    model = workbook_model(path)
    got = model.calculate()
    assert model.last_run["formula column"] == 2 * len(INPUTS)   # no cell-by-cell fallback
    plain = engine_reference.calculate(path)
    assert set(got) == set(plain)
    for k, v in plain.items():
        assert engine_reference.same(got[k], v), (k, got[k], v)


def test_a_function_the_engine_lacks_is_refused_naming_the_cell(tmp_path):
    from xlhtx.excel.headless import RecalcError
    wb = Workbook()
    wb.active["A1"], wb.active["B2"] = 1, "=NOSUCHFUNCTION(A1)"
    wb.save(tmp_path / "f.xlsx")
    with pytest.raises(RecalcError, match=r"B2: the formula engine cannot compute .*"
                                          r"NOSUCHFUNCTION"):
        workbook_model(tmp_path / "f.xlsx").calculate()


def test_defined_names_of_cells_and_ranges(tmp_path):
    from openpyxl.workbook.defined_name import DefinedName
    wb = Workbook()
    ws = wb.active
    ws.title = "Data"
    for r in range(1, 4):
        ws.cell(row=r, column=1, value=r * 10)
    ws["C1"] = "=SUM(amounts)*rate"
    ws["D1"] = 2
    wb.defined_names["amounts"] = DefinedName("amounts", attr_text="Data!$A$1:$A$3")
    wb.defined_names["rate"] = DefinedName("rate", attr_text="Data!$D$1")
    wb.save(tmp_path / "n.xlsx")
    assert workbook_model(tmp_path / "n.xlsx").calculate()[("Data", 1, 3)] == 120
