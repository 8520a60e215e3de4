"""Drift between a reference window (the training baseline) and a current window.

Numeric columns get PSI over reference-quantile bins and the two-sample Kolmogorov-Smirnov test;
categorical columns get PSI over categories, the chi-square test of homogeneity and the total
variation distance. A column raises an alert when an *effect size* crosses its threshold (PSI, the
KS statistic, total variation); p-values only confirm, because on large samples they are tiny for
shifts nobody cares about. The statistic names follow the drift-metrics table of Lakehouse
Monitoring (`population_stability_index`, `ks_test`, `chi_squared_test`, `tv_distance`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

EPSILON = 1e-4   # floor for empty bins, so that PSI stays finite
METRICS_DDL = ("window STRING, column_name STRING, column_type STRING, statistic STRING, "
               "value DOUBLE, p_value DOUBLE, threshold DOUBLE, column_alert BOOLEAN")


@dataclass(frozen=True)
class Thresholds:
    psi: float = 0.25            # above: a major shift (0.1-0.25 reads as moderate)
    ks_statistic: float = 0.1    # largest gap between the two CDFs
    tv_distance: float = 0.1     # half the L1 distance between category shares
    p_value: float = 0.01        # the test must also be significant at this level

    def as_dict(self) -> dict:
        return {"psi": self.psi, "ks_statistic": self.ks_statistic,
                "tv_distance": self.tv_distance, "p_value": self.p_value}


def psi_from_shares(reference, current, epsilon: float = EPSILON) -> float:
    """PSI = sum over bins of (current - reference) * ln(current / reference)."""
    import numpy as np

    ref = np.clip(np.asarray(reference, dtype=float), epsilon, None)
    cur = np.clip(np.asarray(current, dtype=float), epsilon, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def bin_edges(reference, bins: int = 10):
    """Inner bin edges at the reference's quantiles (duplicates dropped for discrete columns)."""
    import numpy as np

    ref = np.asarray(reference, dtype=float)
    ref = ref[~np.isnan(ref)]
    return np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1))[1:-1])


def shares(values, edges):
    """Share of values per bin: (-inf, e0], (e0, e1], ..., (e_last, inf). NaNs are dropped."""
    import numpy as np

    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return np.zeros(len(edges) + 1)
    index = np.searchsorted(edges, values, side="left")
    return np.bincount(index, minlength=len(edges) + 1) / len(values)


def psi(reference, current, bins: int = 10) -> float:
    """PSI of a numeric column, binned at the reference's deciles (by default)."""
    edges = bin_edges(reference, bins)
    return psi_from_shares(shares(reference, edges), shares(current, edges))


def category_shares(reference, current):
    import pandas as pd

    ref = pd.Series(reference).astype("string").fillna("<null>").value_counts()
    cur = pd.Series(current).astype("string").fillna("<null>").value_counts()
    categories = sorted(set(ref.index) | set(cur.index))
    ref_counts = ref.reindex(categories, fill_value=0)
    cur_counts = cur.reindex(categories, fill_value=0)
    return categories, ref_counts.to_numpy(), cur_counts.to_numpy()


def numeric_drift(reference, current, thresholds: Thresholds = Thresholds(), bins: int = 10) -> dict:
    import numpy as np
    from scipy import stats

    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    value = psi(ref, cur, bins)
    ks = stats.ks_2samp(ref, cur)
    reasons = []
    if value > thresholds.psi:
        reasons.append(f"PSI {value:.3f} > {thresholds.psi}")
    if ks.statistic > thresholds.ks_statistic and ks.pvalue < thresholds.p_value:
        reasons.append(f"KS {ks.statistic:.3f} > {thresholds.ks_statistic} (p={ks.pvalue:.1e})")
    return {"column_type": "numeric", "psi": value, "ks_statistic": float(ks.statistic),
            "ks_pvalue": float(ks.pvalue), "chi2_statistic": None, "chi2_pvalue": None,
            "tv_distance": None,
            "reference_mean": float(ref.mean()) if len(ref) else None,
            "current_mean": float(cur.mean()) if len(cur) else None,
            "alert": bool(reasons), "reasons": "; ".join(reasons)}


def categorical_drift(reference, current, thresholds: Thresholds = Thresholds()) -> dict:
    import numpy as np
    from scipy import stats

    categories, ref_counts, cur_counts = category_shares(reference, current)
    ref_share = ref_counts / max(ref_counts.sum(), 1)
    cur_share = cur_counts / max(cur_counts.sum(), 1)
    value = psi_from_shares(ref_share, cur_share)
    tv = float(0.5 * np.abs(ref_share - cur_share).sum())
    if len(categories) > 1:
        table = np.vstack([ref_counts, cur_counts])
        table = table[:, table.sum(axis=0) > 0]
        chi2 = stats.chi2_contingency(table)
        chi2_stat, chi2_p = float(chi2.statistic), float(chi2.pvalue)
    else:
        chi2_stat, chi2_p = 0.0, 1.0
    reasons = []
    if value > thresholds.psi:
        reasons.append(f"PSI {value:.3f} > {thresholds.psi}")
    if tv > thresholds.tv_distance and chi2_p < thresholds.p_value:
        reasons.append(f"TV {tv:.3f} > {thresholds.tv_distance} (chi-square p={chi2_p:.1e})")
    return {"column_type": "categorical", "psi": value, "ks_statistic": None, "ks_pvalue": None,
            "chi2_statistic": chi2_stat, "chi2_pvalue": chi2_p, "tv_distance": tv,
            "reference_mean": None, "current_mean": None,
            "alert": bool(reasons), "reasons": "; ".join(reasons)}


@dataclass
class DriftReport:
    table: object                     # pandas DataFrame, one row per column
    thresholds: Thresholds
    reference_rows: int
    current_rows: int
    label: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def alert(self) -> bool:
        return bool(self.table["alert"].any())

    @property
    def alerting(self) -> list[str]:
        return list(self.table.index[self.table["alert"]])

    def status(self) -> dict:
        return {"label": self.label, "alert": self.alert, "alerting": self.alerting,
                "reference_rows": self.reference_rows, "current_rows": self.current_rows,
                "max_psi": float(self.table["psi"].max()),
                "thresholds": self.thresholds.as_dict()}

    def metrics(self):
        """Long format, one row per column and statistic: the shape of a drift-metrics table."""
        import pandas as pd

        rows = []
        for column, r in self.table.iterrows():
            stats = [("population_stability_index", r["psi"], None, self.thresholds.psi)]
            if r["column_type"] == "numeric":
                stats.append(("ks_test", r["ks_statistic"], r["ks_pvalue"], self.thresholds.ks_statistic))
            else:
                stats.append(("chi_squared_test", r["chi2_statistic"], r["chi2_pvalue"], None))
                stats.append(("tv_distance", r["tv_distance"], None, self.thresholds.tv_distance))
            for name, value, p, threshold in stats:
                rows.append({"window": self.label, "column_name": column,
                             "column_type": r["column_type"], "statistic": name,
                             "value": float(value), "p_value": None if p is None else float(p),
                             "threshold": threshold, "column_alert": bool(r["alert"])})
        return pd.DataFrame(rows)


def write_metrics(spark, reports, table: str) -> int:
    """Replace `table` with the long-format metrics of `reports`, under a fixed schema."""
    import pandas as pd

    frame = pd.concat([r.metrics() for r in reports], ignore_index=True)
    frame = frame.astype(object).where(frame.notna(), None)
    rows = [tuple(r) for r in frame[[c.split()[0] for c in METRICS_DDL.split(", ")]].itertuples(index=False)]
    df = spark.createDataFrame(rows, schema=METRICS_DDL)
    if spark.catalog.tableExists(table):
        # the schema is fixed, so a rerun replaces the rows only: rewriting the schema too would
        # make the local Hive metastore log a spurious "incompatible column types" error
        df.select(*spark.table(table).columns).write.insertInto(table, overwrite=True)
    else:
        df.write.format("delta").saveAsTable(table)
    return len(rows)


def compare(reference, current, numeric=(), categorical=(), thresholds: Thresholds = Thresholds(),
            bins: int = 10, label: str = "", informational=()) -> DriftReport:
    """Drift of `current` against `reference` (pandas DataFrames) for the given columns.

    Columns in `informational` get every statistic but never raise the alert: use it for columns
    that move with the calendar by construction (a tenure in days grows for every customer, so any
    later window differs from the baseline), which belong on a window-to-window monitor instead."""
    import pandas as pd

    rows = {}
    for column in numeric:
        rows[column] = numeric_drift(reference[column], current[column], thresholds, bins)
    for column in categorical:
        rows[column] = categorical_drift(reference[column], current[column], thresholds)
    for column in informational:
        if column in rows:
            note = rows[column]["reasons"]
            rows[column].update(alert=False, reasons="informational, not alerting"
                                + (f" (would be: {note})" if note else ""))
    if not rows:
        raise ValueError("name at least one numeric or categorical column")
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "column_name"
    return DriftReport(table, thresholds, len(reference), len(current), label)


def profile(frame, numeric=(), categorical=()):
    """Per-column profile (count, nulls, mean, std, quantiles, distinct): a snapshot profile."""
    import pandas as pd

    rows = {}
    for column in numeric:
        s = pd.to_numeric(frame[column], errors="coerce")
        q = s.quantile([0.05, 0.25, 0.5, 0.75, 0.95])
        rows[column] = {"type": "numeric", "count": int(s.notna().sum()), "nulls": int(s.isna().sum()),
                        "mean": s.mean(), "std": s.std(), "min": s.min(), "p05": q[0.05],
                        "p25": q[0.25], "median": q[0.5], "p75": q[0.75], "p95": q[0.95],
                        "max": s.max(), "distinct": int(s.nunique())}
    for column in categorical:
        s = frame[column]
        top = s.value_counts()
        rows[column] = {"type": "categorical", "count": int(s.notna().sum()),
                        "nulls": int(s.isna().sum()), "distinct": int(s.nunique()),
                        "top": top.index[0] if len(top) else None,
                        "top_share": float(top.iloc[0] / max(len(s), 1)) if len(top) else None}
    return pd.DataFrame.from_dict(rows, orient="index")


def plot(reference, current, report: DriftReport, columns=None, max_columns: int = 4,
         reference_label: str = "training baseline", current_label: str = "current"):
    """PSI per column against its threshold, then the reference and current distributions of
    the most-drifted numeric columns."""
    import matplotlib.pyplot as plt
    import numpy as np

    table = report.table.sort_values("psi", ascending=False)
    numeric = [c for c in table.index if table.loc[c, "column_type"] == "numeric"]
    shown = list(columns) if columns else numeric[:max_columns]
    fig, axes = plt.subplots(1, 1 + len(shown), figsize=(4 * (1 + len(shown)), 3.6))
    axes = np.atleast_1d(axes)
    colours = ["tab:red" if a else "tab:gray" for a in table["alert"]]
    axes[0].barh(list(table.index)[::-1], list(table["psi"])[::-1], color=colours[::-1])
    axes[0].axvline(report.thresholds.psi, color="black", linestyle="--", linewidth=1)
    axes[0].set_xlabel(f"PSI (dashed: alert at {report.thresholds.psi})")
    axes[0].set_title(report.label or "drift")
    for ax, column in zip(axes[1:], shown):
        ref = np.asarray(reference[column], dtype=float)
        cur = np.asarray(current[column], dtype=float)
        both = np.concatenate([ref[~np.isnan(ref)], cur[~np.isnan(cur)]])
        edges = np.histogram_bin_edges(both, bins=30)
        ax.hist(ref, bins=edges, density=True, alpha=0.5, label=reference_label)
        ax.hist(cur, bins=edges, density=True, alpha=0.5, label=current_label)
        r = report.table.loc[column]
        ax.set_title(f"{column}\nPSI {r['psi']:.2f}, KS {r['ks_statistic']:.2f}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
