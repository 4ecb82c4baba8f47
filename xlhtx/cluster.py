"""Books beyond one machine: a partitioned Parquet dataset through Dask.

Each partition goes through the same kernels as a single process: ``calc`` writes one
result file per partition (a partitioned dataset, in the input's order), ``liqmap``
computes one histogram per partition and adds them up (histograms are additive, so the
map is the same as one process's). ``scheduler``: the address of an existing Dask
cluster (``tcp://host:8786``); without one a local cluster of two worker processes.
Reading from object storage works as Dask reads it (``s3://bucket/book/`` with s3fs
installed), since partitions are read by ``dask.dataframe.read_parquet``.
"""

from __future__ import annotations

import glob
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from xlhtx.errors import XlhtxError


def is_dataset(source: str) -> bool:
    """A folder of Parquet files, a glob, or a remote URL: a partitioned dataset."""
    return "://" in source or any(ch in source for ch in "*?[") or Path(source).is_dir()


def dataset_files(source: str) -> list[str]:
    """The Parquet files of a local dataset, in a stable order."""
    if Path(source).is_dir():
        files = sorted(str(p) for p in Path(source).rglob("*.parquet"))
    else:
        files = sorted(glob.glob(source))
    if not files:
        raise XlhtxError(f"{source}: no Parquet files in the dataset")
    return files


def read_dataset(source: str) -> pa.Table:
    """A local partitioned dataset as one table, partitions in order (one process)."""
    return pa.concat_tables([pq.read_table(f) for f in dataset_files(source)],
                            promote_options="default")


@contextmanager
def dask_client(scheduler: str | None = None) -> Iterator[Any]:
    """A Dask client: on ``scheduler``'s cluster, or on a local one of two workers."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise XlhtxError("--engine dask needs Dask: pip install 'xlhtx[dask]'") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as e:
            raise XlhtxError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
        try:
            yield client
        finally:
            client.close()
        return
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


def _partitions(source: str) -> list:
    """One delayed partition per file: read as Arrow by the worker for a local dataset
    (no pandas on the way), through ``dask.dataframe`` for a remote one."""
    import dask
    if "://" not in source:
        return [dask.delayed(pq.read_table)(f) for f in dataset_files(source)]
    import dask.dataframe as dd
    try:
        return dd.read_parquet(source).to_delayed()
    except (OSError, ValueError) as e:
        raise XlhtxError(f"{source}: cannot read it as a Parquet dataset: {e}") from None


def arrow_partition(df: Any) -> pa.Table:
    """A partition (Arrow, or pandas from a remote dataset) as the Arrow table one process
    would have read: text as ``string`` (pandas hands Arrow's ``large_string``)."""
    table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
    schema = pa.schema([f.with_type(pa.string()) if pa.types.is_large_string(f.type) else f
                        for f in table.schema])
    return table.cast(schema)


def _calc_part(df: Any, tiers: Any, out: str, k: int) -> int:
    from xlhtx import book, tableio
    table = arrow_partition(df)
    results = book.compute(tableio.columns(table), tiers)
    tableio.write_table(tableio.result_table(table, results, tiers),
                        Path(out) / f"part-{k:05d}.parquet")
    return table.num_rows


def calc(source: str, out: str, tiers: Any, scheduler: str | None = None) -> int:
    """Every partition computed into ``out/part-NNNNN.parquet``; returns the row count."""
    import dask
    Path(out).mkdir(parents=True, exist_ok=True)
    parts = _partitions(source)
    with dask_client(scheduler) as client:
        shared = client.scatter(tiers, broadcast=True)   # the tier table sent once
        counts = dask.compute(*[dask.delayed(_calc_part)(p, shared, out, k)
                                for k, p in enumerate(parts)])
    return int(sum(counts))


def _map_part(df: Any, tiers: Any, lo: float, hi: float, step: float) -> np.ndarray:
    from xlhtx import whatif
    return whatif.liq_map(arrow_partition(df), tiers, lo, hi, step).hist


def liq_map_hist(source: str, tiers: Any, lo: float, hi: float, step: float,
                 scheduler: str | None = None) -> np.ndarray:
    """The summed histogram of every partition."""
    import dask
    parts = _partitions(source)
    from htxcore.liqmap import merge_nb
    with dask_client(scheduler) as client:
        shared = client.scatter(tiers, broadcast=True)
        hists = dask.compute(*[dask.delayed(_map_part)(p, shared, lo, hi, step)
                               for p in parts])
    total = np.zeros_like(hists[0])
    for h in hists:   # contracts plainly, notional with its rounding error (TwoSum)
        merge_nb(total, h)
    return total
