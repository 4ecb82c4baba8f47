"""Positions tables and their files: reading and writing them (``formats``), every
metric per row (``metrics``), DataFrames (``frames``), Dask datasets (``cluster``),
where tier and contract tables come from (``sources``) and the sample book
(``samples``)."""
