"""Report charts (matplotlib, drawn off-screen): the liquidation map of a book."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xlhtx.errors import XlhtxError
from xlhtx.files import atomic_write


def liq_map_png(m: Any, path: str | Path, title: str = "Liquidation map",
                bands: list[tuple[str, Any]] | None = None) -> Path:
    """Bars of notional force-closed per price bucket (longs below the mark, shorts above,
    as HTX's tiered liquidation closes them), stacked by leverage band when ``bands``
    (label, map) are given (darker = higher leverage), the cumulative notional from the
    mark on a second axis — longs summed from the mark down, shorts from the mark up, one
    line each, as liquidation maps traders know draw them — and the mark drawn."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        raise XlhtxError("--png needs matplotlib: pip install 'xlhtx[plot]'") from None
    cols = m.columns()
    mid = cols["bucket_low"] + m.step / 2
    fig, ax = plt.subplots(figsize=(11, 5.5), dpi=110)
    stack = bands or [("", m)]
    reds, greens = plt.get_cmap("Reds"), plt.get_cmap("Greens")
    shade = lambda k: 0.45 + 0.5 * (k + 1) / len(stack)  # noqa: E731
    bottom = 0 * mid
    for side, cmap, default in (("long", reds, "#d9534f"), ("short", greens, "#2e7d32")):
        for k, (label, band) in enumerate(stack):
            values = band.columns()[f"{side}_notional"]
            ax.bar(mid, values, width=m.step * 0.9, bottom=bottom,
                   color=cmap(shade(k)) if bands else default,
                   label=f"{side}s force-closed" + (f" {label}" if label else ""))
            bottom = bottom + values
    ax.axvline(m.mark, color="#1f3864", linestyle="--", linewidth=1.5)
    ax.annotate(f"mark {m.mark:,.6g}", (m.mark, 1), xycoords=("data", "axes fraction"),
                xytext=(4, -14), textcoords="offset points", color="#1f3864")
    ax.set_xlabel("price")
    ax.set_ylabel("notional force-closed per bucket (quote currency)")
    ax.set_title(title)
    ax2 = ax.twinx()
    below, above = mid <= m.mark, mid >= m.mark
    ax2.plot(mid[below], cols["cumulative_notional"][below], color="#a94442", linewidth=1.4,
             label="longs liquidated, cumulative (price falling from the mark)")
    ax2.plot(mid[above], cols["cumulative_notional"][above], color="#1b5e20", linewidth=1.4,
             label="shorts liquidated, cumulative (price rising from the mark)")
    ax2.set_ylabel("cumulative notional from the mark")
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    # below the plot: ten band entries over the bars would hide them
    ax.legend(handles, [h.get_label() for h in handles], loc="upper center", ncol=3,
              bbox_to_anchor=(0.5, -0.13), frameon=False, fontsize="small")
    thousands = FuncFormatter(lambda x, _: f"{x:,.0f}")
    for axis in (ax.yaxis, ax2.yaxis, ax.xaxis):
        axis.set_major_formatter(thousands)
    fig.tight_layout()
    out = atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="png",
                                                             bbox_inches="tight"))
    plt.close(fig)
    return out
