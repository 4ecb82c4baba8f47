"""The Excel functions: their declarations (``registry``), the functions xlwings calls
(``udfs``) and the headless recalculation that runs a workbook's formulas with them
(``headless``)."""
