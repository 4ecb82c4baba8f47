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
from xlhtx.statuses import EMPTY


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
    return pa.concat_tables([read_part(f, source) for f in dataset_files(source)],
                            promote_options="default")


def read_part(path: str, root: str) -> pa.Table:
    """One Parquet file of a dataset, with the hive partition columns its folders name
    (``book/contract=BTC-USDT/part-0.parquet`` adds ``contract``) when the file lacks
    them."""
    from xlhtx.tables.formats import plain_text
    table = plain_text(pq.read_table(path))
    base = Path(root) if Path(root).is_dir() else Path(path).parent
    try:
        folders = Path(path).parent.relative_to(base).parts
    except ValueError:
        folders = ()
    for part in folders:
        key, eq, value = part.partition("=")
        if eq and key and key not in table.column_names:
            table = table.append_column(key, pa.array([value] * table.num_rows, pa.string()))
    return table


@contextmanager
def dask_client(scheduler: str | None = None) -> Iterator[Any]:
    """A Dask client: on ``scheduler``'s cluster, or on a local one of two workers."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise XlhtxError("--engine dask needs Dask: pip install 'xlhtx[dask]'") from None
    if scheduler:
        client = _connect(Client, scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


PARTITION_ROWS = 250_000   # rows per partition of a single table file
SCHEMES = ("tcp://", "tls://", "inproc://", "ucx://", "ws://", "wss://")
CONNECT_SECONDS = 15.0   # a scheduler answers in well under this; a wrong server never does


def _connect(client_class: Any, scheduler: str) -> Any:
    """A client of the scheduler at ``scheduler``, or one line saying why not, within
    ``CONNECT_SECONDS`` whatever answers there (a web server would keep a handshake
    waiting forever)."""
    import threading
    if not scheduler.startswith(SCHEMES):
        raise XlhtxError(f"--scheduler {scheduler}: a Dask scheduler's address is "
                         "tcp://HOST:8786 (not its http:// dashboard)")
    box: dict[str, Any] = {}

    def connect() -> None:
        try:
            box["client"] = client_class(scheduler, timeout=f"{CONNECT_SECONDS:g}s")
        except Exception as e:   # noqa: BLE001 - reported below in one line
            box["error"] = e
    t = threading.Thread(target=connect, daemon=True)
    t.start()
    t.join(CONNECT_SECONDS + 5)
    if "client" in box:
        return box["client"]
    why = box.get("error") or f"no answer within {CONNECT_SECONDS:g} s (is it a Dask scheduler?)"
    raise XlhtxError(f"cannot reach the Dask scheduler at {scheduler}: {why}")


def _partitions(source: str) -> list:
    """One delayed partition per file: read as Arrow by the worker for a local dataset
    (no pandas on the way), through ``dask.dataframe`` for a remote one."""
    import dask
    if "://" not in source and Path(source).is_file():
        # one table file (CSV, XLSX, Parquet): read here as calc reads it, sent in slices
        from xlhtx.tables import formats
        table = formats.read_table(source)
        return [dask.delayed(table.slice(k, PARTITION_ROWS))
                for k in range(0, max(table.num_rows, 1), PARTITION_ROWS)]
    if "://" not in source:
        return [dask.delayed(read_part)(f, source) for f in dataset_files(source)]
    import dask.dataframe as dd
    try:
        return dd.read_parquet(source).to_delayed()
    except (OSError, ValueError) as e:
        raise XlhtxError(f"{source}: cannot read it as a Parquet dataset: {e}") from None


def arrow_partition(df: Any) -> pa.Table:
    """A partition (Arrow, or pandas from a remote dataset) as the Arrow table one process
    would have read: text as ``string`` (pandas hands Arrow's ``large_string``)."""
    from xlhtx.tables.formats import plain_text
    table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
    return plain_text(table)


def _calc_part(df: Any, tiers: Any, out: str, k: int) -> int:
    from xlhtx.tables import metrics
    from xlhtx.tables import formats
    table = arrow_partition(df)
    # an account's rows may sit in several partitions: cross rows are not guessed here
    results = metrics.compute(formats.columns(table), tiers, cross=False)
    formats.write_table(formats.result_table(table, results, tiers),
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


def _map_part(df: Any, tiers: Any, lo: float, hi: float, step: float,
              contract: str | None = None) -> tuple[np.ndarray, int, str]:
    """A partition's histogram, how many of its rows were left out, and one reason."""
    from xlhtx import api
    from xlhtx.analysis import liqmap
    table = liqmap.one_contract(arrow_partition(df), contract, missing_ok=True)
    if table.num_rows == 0:   # no position of the contract in this partition: nothing to add
        from htxcore.liqmap import HIST_ROWS
        return np.zeros((HIST_ROWS, api.map_buckets(lo, hi, step))), 0, ""
    m = liqmap.book_map(table, tiers, lo, hi, step)
    left = (m.result.status != 0) & (m.result.status != EMPTY)
    first = next(iter(m.result.messages.values()), "") if left.any() else ""
    return m.hist, int(left.sum()), first


def liq_map_hist(source: str, tiers: Any, lo: float, hi: float, step: float,
                 scheduler: str | None = None, contract: str | None = None,
                 left_out: list | None = None) -> np.ndarray:
    """The summed histogram of every partition (of ``contract``'s rows); ``left_out``
    receives ``(rows left out, one reason)`` as one process reports them."""
    import dask
    parts = _partitions(source)
    from htxcore.liqmap import merge_nb
    with dask_client(scheduler) as client:
        shared = client.scatter(tiers, broadcast=True)
        done = dask.compute(*[dask.delayed(_map_part)(p, shared, lo, hi, step, contract)
                              for p in parts])
    total = np.zeros_like(done[0][0])
    for h, _, _ in done:   # contracts plainly, notional with its rounding error (TwoSum)
        merge_nb(total, h)
    if left_out is not None:
        left_out.append((sum(n for _, n, _ in done), next((w for _, n, w in done if n), "")))
    return total
