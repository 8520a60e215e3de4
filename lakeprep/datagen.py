"""The course data set: a subscription retailer ("Larkspur Box") whose customers may cancel.

Deterministic and offline: the same `seed` and `scale` always write byte-identical raw files, and
nothing is downloaded. Every lab reads these files (lab 1 ingests them) or the tables built from
them, never this module's Python objects, except the calendar constants below.

Calendar (all instants are UTC; a cutoff is the decision time 00:00 UTC on that date)
------------------------------------------------------------------------------------
HISTORY_START       2024-10-01   first event in the raw files
FEATURES_START      2024-12-01   first row of the daily feature table (a month before the first cutoff)
CUTOFFS             2025-01-01 … 2025-08-01, the eight monthly cutoffs with labels used to build
                    models: TRAIN_CUTOFFS (January to June) for fitting and VALIDATION_CUTOFFS
                    (July, August) for out-of-time validation
SCORING_CUTOFF      2025-09-01   a normal month to score (batch, streaming and serving labs)
APP_LAUNCH          2025-09-08   the mobile app ships: from here on, app users open more
                    sessions and buy smaller baskets
SHIFTED_CUTOFF      2025-10-01   the month whose trailing 30 days carry the app-driven shift
                    (drift lessons)
DATA_END            2025-11-01   "today": events stop, the CRM snapshot is taken; every cutoff
                    above has its 30-day label window closed by then

The label of (customer, cutoff) is 1 when a customer who was active at the cutoff (signed up
before it, not cancelled yet) cancels within LABEL_HORIZON (30 days) after it.

Raw files (under `p.path("raw")`)
---------------------------------
customers/customers.csv             customer_id, signup_time, country, acquisition_channel
plan_history/plan_history.csv       customer_id, plan_tier, effective_from, change_reason
                                    (slowly changing; `cancelled` marks the cancellation)
events/batch=YYYY-MM-DD/*.jsonl     one folder per weekly ingest batch (the Monday that opens
                                    the week in which the lines arrived): event_id, customer_id,
                                    event_type, amount, currency, device, event_time, ingest_time
crm/crm_snapshot.csv                account_status, cancellation_reason, last_login_at, plan_tier
                                    as of DATA_END: written after the outcome (a leakage trap)
truth/churn_labels.csv              the generator's own labels for every cutoff, to check the
                                    labels a pipeline derives from plan history
_manifest.json                      seed, scale, counts and a SHA-256 per file

Traps placed on purpose: re-sent events (same event_id in a later batch), late arrivals (ingested
days after they happened), event times written with a non-UTC offset (the same instant), a few
malformed lines (no customer, impossible time, unknown type, negative amount), and one batch,
CENTS_BATCH, whose purchase amounts arrive in cents.

Scales: small (CI, ~2,000 customers, ~10^5 events), medium (~50,000 customers, a few million
events), large (1,000,000 customers). Customers are simulated in blocks of BLOCK_SIZE with a
random stream per block, so pandas (small, medium) and Spark (large: one task per block through
`mapInPandas`) run the same code and produce the same rows.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

UTC = timezone.utc

HISTORY_START = date(2024, 10, 1)
FEATURES_START = date(2024, 12, 1)      # first day of the daily feature table (history before it is context)
DATA_END = date(2025, 11, 1)
CUTOFFS = tuple(date(2025, m, 1) for m in range(1, 9))
TRAIN_CUTOFFS = CUTOFFS[:6]
VALIDATION_CUTOFFS = CUTOFFS[6:]
SCORING_CUTOFF = date(2025, 9, 1)
SHIFTED_CUTOFF = date(2025, 10, 1)
ALL_CUTOFFS = CUTOFFS + (SCORING_CUTOFF, SHIFTED_CUTOFF)
APP_LAUNCH = date(2025, 9, 8)
LABEL_HORIZON_DAYS = 30
CENTS_BATCH = "2025-03-10"

SCALES = {"small": 2_000, "medium": 50_000, "large": 1_000_000, "tiny": 300}   # tiny: tests only
BLOCK_SIZE = 5_000

EVENT_TYPES = ("session", "page_view", "add_to_cart", "purchase", "support_ticket", "plan_change")
PLAN_TIERS = ("basic", "standard", "premium")
COUNTRIES = ("DE", "FR", "NL", "ES", "IT", "GB", "US")
COUNTRY_WEIGHTS = (0.24, 0.16, 0.10, 0.10, 0.10, 0.15, 0.15)
CURRENCY = {"DE": "EUR", "FR": "EUR", "NL": "EUR", "ES": "EUR", "IT": "EUR", "GB": "GBP", "US": "USD"}
EUR_PER_UNIT = {"EUR": 1.0, "GBP": 1.17, "USD": 0.92}
CHANNELS = ("organic", "paid_search", "social", "referral", "partner")
CHANNEL_WEIGHTS = (0.35, 0.25, 0.20, 0.12, 0.08)
CANCEL_REASONS = ("price", "not_using", "competitor", "support_experience", "moved")

_DAY = 86_400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ts(d: date) -> int:
    """Seconds since the epoch at 00:00 UTC of a date."""
    return int((datetime(d.year, d.month, d.day, tzinfo=UTC) - _EPOCH).total_seconds())


T_HISTORY, T_END, T_LAUNCH = _ts(HISTORY_START), _ts(DATA_END), _ts(APP_LAUNCH)
T_SIGNUP_FROM, T_SIGNUP_TO = _ts(date(2024, 1, 1)), _ts(date(2025, 10, 1))


def n_customers(scale: str) -> int:
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; valid values: {', '.join(SCALES)}")
    return SCALES[scale]


def n_blocks(scale: str) -> int:
    return -(-n_customers(scale) // BLOCK_SIZE)


# -- simulation ------------------------------------------------------------------------------------

def _rng(seed: int, block: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(block), int(stream)]))


def simulate_block(seed: int, scale: str, block: int, total: int | None = None) -> dict:
    """Customers `block*BLOCK_SIZE ...` of a scale: attributes, plan history and every event.

    Returns numpy arrays and pandas frames in a fixed order; the same arguments always give the
    same result, whichever process or machine runs it.
    """
    first = block * BLOCK_SIZE
    n = max(0, min(BLOCK_SIZE, (n_customers(scale) if total is None else total) - first))
    r = _rng(seed, block, 0)
    idx = np.arange(first, first + n)

    # customers ---------------------------------------------------------------------------------
    early = r.random(n) < 0.35
    signup = np.where(early, r.integers(T_SIGNUP_FROM, T_HISTORY, n), r.integers(T_HISTORY, T_SIGNUP_TO, n))
    country = r.choice(len(COUNTRIES), n, p=COUNTRY_WEIGHTS)
    channel = r.choice(len(CHANNELS), n, p=CHANNEL_WEIGHTS)
    tier0 = r.choice(3, n, p=(0.5, 0.35, 0.15))
    engagement = r.lognormal(0.0, 0.55, n)
    app_user = r.random(n) < 0.65

    # churn: a constant hazard per customer, higher for low engagement, the basic tier and
    # paid acquisition; most churners fade out over the weeks before they cancel
    risk = (-0.9 * np.log(engagement) + np.array([0.35, 0.0, -0.45])[tier0]
            + np.array([0.0, 0.35, 0.45, -0.35, 0.1])[channel] + r.normal(0, 0.35, n))
    monthly_hazard = np.clip(0.04 * np.exp(risk), 0.003, 0.35)
    churn = signup + (r.exponential(1.0, n) / (monthly_hazard / 30.0) * _DAY).astype(np.int64)
    churned = churn < T_END
    churn = np.where(churned, churn, np.iinfo(np.int64).max)
    fades = r.random(n) < 0.85
    fade_days = r.uniform(35, 70, n)
    fade_start = np.where(churned & fades, churn - (fade_days * _DAY).astype(np.int64), churn)

    # plan history: initial tier, occasional upgrades/downgrades, a downgrade before some churns
    plans = _plan_history(r, idx, signup, churn, churned, tier0, engagement, fade_start, fades)

    # sessions: a thinned Poisson process per customer ------------------------------------------
    rate = 0.13 * engagement * np.array([0.8, 1.0, 1.3])[tier0]            # sessions per day
    start = np.maximum(signup, T_HISTORY)
    stop = np.minimum(churn, T_END)
    span = np.clip(stop - start, 0, None) / _DAY
    boost = 1.8                                                               # app users after launch
    count = r.poisson(rate * boost * span)
    owner = np.repeat(np.arange(n), count)
    t = start[owner] + (r.random(owner.size) * (stop - start)[owner]).astype(np.int64)
    keep_p = np.where(app_user[owner] & (t >= T_LAUNCH), 1.0, 1.0 / boost)
    in_fade = t >= fade_start[owner]
    fade_frac = np.where(in_fade, (t - fade_start[owner]) / np.maximum(churn[owner] - fade_start[owner], 1), 0.0)
    keep_p = keep_p * (1.0 - 0.95 * fade_frac)
    keep = r.random(owner.size) < keep_p
    s_owner, s_time = owner[keep], t[keep]
    after_app = app_user[s_owner] & (s_time >= T_LAUNCH)

    # what happens inside a session
    views = r.poisson(np.where(after_app, 0.6, 0.9))
    v_owner = np.repeat(s_owner, views)
    v_time = np.repeat(s_time, views) + r.integers(10, 1_200, v_owner.size)
    cart = r.random(s_owner.size) < 0.25
    c_owner, c_time = s_owner[cart], s_time[cart] + r.integers(30, 1_500, cart.sum())
    buy_p = np.where(after_app, 0.09, 0.10) * np.array([0.9, 1.0, 1.15])[tier0[s_owner]]
    buy = r.random(s_owner.size) < buy_p
    b_owner, b_time = s_owner[buy], s_time[buy] + r.integers(300, 1_800, buy.sum())
    basket = r.lognormal(np.log(38.0), 0.5, b_owner.size) * np.array([0.8, 1.0, 1.45])[tier0[b_owner]]
    basket = np.where(after_app[buy], basket * 0.55, basket)
    local = basket / np.array([EUR_PER_UNIT[CURRENCY[c]] for c in COUNTRIES])[country[b_owner]]
    amount = np.round(local, 2)

    # support tickets: rare, three times as frequent while a customer fades out
    t_count = r.poisson(0.005 * span * 4.0)
    t_owner = np.repeat(np.arange(n), t_count)
    t_time = start[t_owner] + (r.random(t_owner.size) * (stop - start)[t_owner]).astype(np.int64)
    t_keep = r.random(t_owner.size) < np.where(t_time >= fade_start[t_owner], 1.0, 1.0 / 4.0)
    t_owner, t_time = t_owner[t_keep], t_time[t_keep]

    # plan changes inside the event window become events too
    pc = plans[(plans["effective_from"] >= T_HISTORY) & (plans["change_reason"] != "signup")]
    pc_owner = pc["local"].to_numpy()
    pc_time = pc["effective_from"].to_numpy()

    ev_owner = np.concatenate([s_owner, v_owner, c_owner, b_owner, t_owner, pc_owner])
    ev_time = np.concatenate([s_time, v_time, c_time, b_time, t_time, pc_time]).astype(np.int64)
    ev_type = np.concatenate([np.full(s_owner.size, 0), np.full(v_owner.size, 1), np.full(c_owner.size, 2),
                              np.full(b_owner.size, 3), np.full(t_owner.size, 4), np.full(pc_owner.size, 5)])
    ev_amount = np.concatenate([np.full(s_owner.size + v_owner.size + c_owner.size, np.nan), amount,
                                np.full(t_owner.size + pc_owner.size, np.nan)])
    ev_app = np.concatenate([after_app, np.repeat(after_app, views), after_app[cart], after_app[buy],
                             np.zeros(t_owner.size + pc_owner.size, bool)])
    ok = ev_time < T_END
    order = np.lexsort((ev_type[ok], ev_time[ok], ev_owner[ok]))
    events = {
        "owner": ev_owner[ok][order], "time": ev_time[ok][order], "type": ev_type[ok][order],
        "amount": ev_amount[ok][order], "app": ev_app[ok][order],
    }
    last_session = np.full(n, -1, np.int64)
    np.maximum.at(last_session, s_owner, s_time)

    return {
        "seed": seed, "block": block, "first": first, "n": n, "idx": idx, "signup": signup,
        "country": country, "channel": channel, "tier0": tier0, "engagement": engagement,
        "churn": churn, "churned": churned, "fades": fades, "plans": plans, "events": events,
        "last_session": last_session, "rng": _rng(seed, block, 1),
    }


def _plan_history(r, idx, signup, churn, churned, tier0, engagement, fade_start, fades) -> pd.DataFrame:
    n = idx.size
    horizon = np.minimum(churn, T_END)
    months = np.clip(horizon - signup, 0, None) / (30 * _DAY)
    changes = np.minimum(r.poisson(months * 0.012 * (0.5 + engagement)), 3)
    rows_local, rows_time, rows_tier, rows_reason = [np.arange(n)], [signup], [tier0], [np.zeros(n, int)]
    tier = tier0.copy()
    change_until = np.minimum(horizon, fade_start)
    times = np.sort(signup[:, None] + (r.random((n, 3)) * np.clip(change_until - signup, 0, None)[:, None]).astype(np.int64), axis=1)
    for k in range(3):
        has = changes > k
        up = r.random(n) < 0.5 + 0.15 * np.log(engagement)
        step = np.where(up, 1, -1)
        new = np.clip(tier + step, 0, 2)
        moved = has & (new != tier)
        rows_local.append(np.nonzero(moved)[0])
        rows_time.append(times[moved, k])
        rows_tier.append(new[moved])
        rows_reason.append(np.where(new[moved] > tier[moved], 1, 2))
        tier = np.where(moved, new, tier)
    # a downgrade shortly before a faded cancellation, for some
    pre = churned & fades & (tier > 0) & (r.random(n) < 0.35)
    pre_time = fade_start + ((churn - fade_start) * 0.5).astype(np.int64)
    pre = pre & (pre_time > signup)
    rows_local.append(np.nonzero(pre)[0])
    rows_time.append(pre_time[pre])
    rows_tier.append(tier[pre] - 1)
    rows_reason.append(np.full(pre.sum(), 2))
    # the cancellation itself
    rows_local.append(np.nonzero(churned)[0])
    rows_time.append(churn[churned])
    rows_tier.append(np.full(churned.sum(), 3))
    rows_reason.append(np.full(churned.sum(), 3))
    df = pd.DataFrame({
        "local": np.concatenate(rows_local), "effective_from": np.concatenate(rows_time).astype(np.int64),
        "tier": np.concatenate(rows_tier), "reason": np.concatenate(rows_reason),
    })
    # nothing after a cancellation, nothing at or after "today" except the cancellation rules above
    df = df[(df["effective_from"] <= horizon[df["local"]]) & (df["effective_from"] < T_END)]
    df = df.sort_values(["local", "effective_from", "reason"], kind="mergesort").reset_index(drop=True)
    df["plan_tier"] = np.array(PLAN_TIERS + ("cancelled",))[df["tier"]]
    df["change_reason"] = np.array(["signup", "upgrade", "downgrade", "cancellation"])[df["reason"]]
    return df[["local", "effective_from", "plan_tier", "change_reason"]]


# -- formatting into the raw tables -----------------------------------------------------------------

def _iso(seconds: np.ndarray) -> np.ndarray:
    """ISO-8601 UTC strings with a `Z`, e.g. 2025-03-04T10:00:00Z."""
    return np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s").astype(object) + "Z"


def _cid(global_idx: np.ndarray) -> np.ndarray:
    return np.char.add("C", np.char.zfill(global_idx.astype(str), 7)).astype(object)


def customers_frame(sim: dict) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": _cid(sim["idx"]),
        "signup_time": _iso(sim["signup"]),
        "country": np.array(COUNTRIES)[sim["country"]],
        "acquisition_channel": np.array(CHANNELS)[sim["channel"]],
    })


def plan_history_frame(sim: dict) -> pd.DataFrame:
    plans = sim["plans"]
    return pd.DataFrame({
        "customer_id": _cid(sim["idx"][plans["local"].to_numpy()]),
        "plan_tier": plans["plan_tier"].to_numpy(),
        "effective_from": _iso(plans["effective_from"].to_numpy()),
        "change_reason": plans["change_reason"].to_numpy(),
    })


def events_frame(sim: dict) -> pd.DataFrame:
    """The raw event lines of a block, traps included, with their ingest batch."""
    ev, r = sim["events"], np.random.default_rng(np.random.SeedSequence([sim["seed"], sim["block"], 2]))
    m = ev["owner"].size
    country = sim["country"][ev["owner"]]
    currency = np.array([CURRENCY[c] for c in COUNTRIES], dtype=object)[country]
    is_buy = ev["type"] == 3
    currency = np.where(is_buy, currency, None)
    device = np.where(ev["app"], "app", np.where(r.random(m) < 0.3, "mobile_web", "web")).astype(object)
    device = np.where(ev["type"] >= 4, None, device)

    # arrival: minutes to hours after the event, a few days for 4% (late arrivals)
    delay = np.exp(r.normal(np.log(900), 1.1, m)).astype(np.int64)
    late = r.random(m) < 0.04
    delay = np.where(late, r.integers(2 * _DAY, 10 * _DAY, m), delay)
    ingest = ev["time"] + delay
    event_id = np.char.add(np.char.add(np.char.add("ev-", np.char.zfill(str(sim["block"]), 4)), "-"),
                           np.char.zfill(np.arange(m).astype(str), 8)).astype(object)
    df = pd.DataFrame({
        "event_id": event_id,
        "customer_id": _cid(sim["idx"][ev["owner"]]),
        "event_type": np.array(EVENT_TYPES, dtype=object)[ev["type"]],
        "amount": ev["amount"],
        "currency": currency,
        "device": device,
        "event_time": _iso(ev["time"]),
        "_t": ev["time"],
        "_ingest": ingest,
    })

    # a few event times written in a local offset: the same instant, another notation
    offset_rows = np.nonzero(r.random(m) < 0.005)[0]
    hours = r.choice([1, 2, -5, 9], offset_rows.size)
    local = ev["time"][offset_rows] + hours * 3600
    sign = np.where(hours >= 0, "+", "-")
    suffix = np.char.add(np.char.add(sign.astype(str), np.char.zfill(np.abs(hours).astype(str), 2)), ":00")
    base = np.datetime_as_string(local.astype("datetime64[s]"), unit="s").astype(str)
    df.loc[offset_rows, "event_time"] = np.char.add(base, suffix).astype(object)

    # malformed lines: no customer, an impossible time, an unknown type, a negative amount
    bad_rows = np.nonzero(r.random(m) < 0.0012)[0]
    kind = r.integers(0, 4, bad_rows.size)
    for k, rows in ((0, bad_rows[kind == 0]), (1, bad_rows[kind == 1]), (2, bad_rows[kind == 2])):
        if k == 0:
            df.loc[rows, "customer_id"] = None
        elif k == 1:
            df.loc[rows, "event_time"] = "2025-02-30T25:61:00Z"
        else:
            df.loc[rows, "event_type"] = "sesion"
    neg = bad_rows[kind == 3]
    df.loc[neg, "event_type"] = "purchase"
    df.loc[neg, "amount"] = -np.round(r.uniform(5, 80, neg.size), 2)
    df.loc[neg, "currency"] = np.array([CURRENCY[c] for c in COUNTRIES], dtype=object)[country[neg]]

    # re-sent events: the same line arrives again, hours or days later
    dup_rows = np.nonzero(r.random(m) < 0.015)[0]
    dups = df.iloc[dup_rows].copy()
    dups["_ingest"] = dups["_ingest"].to_numpy() + r.integers(3_600, 5 * _DAY, dup_rows.size)
    df = pd.concat([df, dups], ignore_index=True)

    df = df[df["_ingest"] < T_END]
    # weekly ingest batches, named after their Monday
    days = df["_ingest"].to_numpy() // _DAY
    monday = days - (days + 3) % 7                       # 1970-01-01 was a Thursday
    df["batch"] = np.datetime_as_string((monday * _DAY).astype("datetime64[s]"), unit="D")
    df["ingest_time"] = _iso(df["_ingest"].to_numpy())
    cents = (df["batch"] == CENTS_BATCH) & (df["event_type"] == "purchase") & (df["amount"] > 0)
    df.loc[cents, "amount"] = np.round(df.loc[cents, "amount"] * 100)
    return df.drop(columns=["_t"])


def crm_frame(sim: dict) -> pd.DataFrame:
    """The CRM export taken on DATA_END: it knows who cancelled and why (after the fact)."""
    r = sim["rng"]
    n = sim["n"]
    exists = sim["signup"] < T_END
    cancelled = sim["churned"]
    reason_p = np.where(sim["fades"][:, None], [[0.2, 0.45, 0.15, 0.12, 0.08]], [[0.35, 0.1, 0.3, 0.15, 0.1]])
    reason = (r.random(n)[:, None] > np.cumsum(reason_p, axis=1)).sum(axis=1)
    plans = sim["plans"]
    current = plans.groupby("local", sort=False)["plan_tier"].last().reindex(range(n)).to_numpy()
    last = sim["last_session"]
    df = pd.DataFrame({
        "customer_id": _cid(sim["idx"]),
        "snapshot_date": DATA_END.isoformat(),
        "account_status": np.where(cancelled, "cancelled", "active"),
        "cancellation_reason": np.where(cancelled, np.array(CANCEL_REASONS, dtype=object)[np.minimum(reason, 4)], None),
        "last_login_at": np.where(last >= 0, _iso(np.maximum(last, 0)), None),
        "plan_tier": current,
    })
    return df[exists].reset_index(drop=True)


def labels_frame(sim: dict) -> pd.DataFrame:
    """Ground truth for every cutoff: active customers, and whether they cancel within 30 days."""
    parts = []
    for cutoff in ALL_CUTOFFS:
        c = _ts(cutoff)
        active = (sim["signup"] < c) & (sim["churn"] > c)
        churned = sim["churn"][active] <= c + LABEL_HORIZON_DAYS * _DAY
        parts.append(pd.DataFrame({"customer_id": _cid(sim["idx"][active]), "cutoff": cutoff.isoformat(),
                                   "churned": churned.astype(int)}))
    return pd.concat(parts, ignore_index=True)


FRAMES = {
    "customers": customers_frame,
    "plan_history": plan_history_frame,
    "events": events_frame,
    "crm": crm_frame,
    "labels": labels_frame,
}


def block_frames(seed: int, scale: str, block: int, kinds=tuple(FRAMES), total: int | None = None
                 ) -> dict[str, pd.DataFrame]:
    sim = simulate_block(seed, scale, block, total)
    return {k: FRAMES[k](sim) for k in kinds}


def frames(seed: int = 42, scale: str = "small") -> dict[str, pd.DataFrame]:
    """Every raw table of a scale as pandas frames (small and medium)."""
    parts = [block_frames(seed, scale, b) for b in range(n_blocks(scale))]
    return {k: pd.concat([p[k] for p in parts], ignore_index=True) for k in FRAMES}


# -- writing ----------------------------------------------------------------------------------------

EVENT_COLUMNS = ["event_id", "customer_id", "event_type", "amount", "currency", "device", "event_time",
                 "ingest_time"]


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n")


def _jsonl(df: pd.DataFrame) -> str:
    lines = []
    for row in df[EVENT_COLUMNS].itertuples(index=False, name=None):
        record = {}
        for key, value in zip(EVENT_COLUMNS, row):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            if key == "amount":
                value = int(value) if float(value).is_integer() else round(float(value), 2)
            record[key] = value
        lines.append(json.dumps(record, separators=(",", ":")))
    return "\n".join(lines) + "\n"


def write_raw(out: str | os.PathLike, *, seed: int = 42, scale: str = "small", spark=None,
              force: bool = False) -> dict:
    """Write the raw files into `out` (e.g. `p.path("raw")`) and return the manifest.

    Skips the work when `out` already holds the files of the same seed and scale (the manifest
    says so and every file is still there), which keeps a lab rerun cheap. `large` needs `spark`.
    """
    out = Path(out)
    manifest_path = out / "_manifest.json"
    if manifest_path.exists() and not force:
        manifest = json.loads(manifest_path.read_text())
        if (manifest.get("seed") == seed and manifest.get("scale") == scale
                and all((out / f).exists() for f in manifest["files"])):
            manifest["reused"] = True
            return manifest
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    if scale == "large":
        if spark is None:
            raise ValueError("the large scale is generated with Spark: pass spark=p.spark")
        _write_with_spark(spark, out, seed, scale)
    else:
        data = frames(seed, scale)
        _write_csv(data["customers"], out / "customers" / "customers.csv")
        _write_csv(data["plan_history"], out / "plan_history" / "plan_history.csv")
        _write_csv(data["crm"], out / "crm" / "crm_snapshot.csv")
        _write_csv(data["labels"], out / "truth" / "churn_labels.csv")
        events = data["events"].sort_values(["_ingest", "event_id"], kind="mergesort")
        for batch, part in events.groupby("batch", sort=True):
            target = out / "events" / f"batch={batch}" / f"events-{batch}.jsonl"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_jsonl(part))
    files = sorted(str(f.relative_to(out)) for f in out.rglob("*") if f.is_file() and f.name != "_manifest.json"
                   and not f.name.startswith((".", "_")))
    digests = {f: hashlib.sha256((out / f).read_bytes()).hexdigest() for f in files}
    event_lines = sum(sum(1 for _ in open(out / f, "rb")) for f in files if f.startswith("events/"))
    manifest = {
        "seed": seed, "scale": scale, "customers": n_customers(scale), "event_lines": event_lines,
        "event_batches": len({f.split("/")[1] for f in files if f.startswith("events/")}),
        "files": digests,
        "content_hash": hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest(),
    }
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    manifest["reused"] = False
    return manifest


def _write_with_spark(spark, out: Path, seed: int, scale: str) -> None:
    """Large scale: one Spark task per block of customers, the same block code as pandas."""
    from pyspark.sql import types as T

    string = T.StringType()
    schemas = {
        "customers": ["customer_id", "signup_time", "country", "acquisition_channel"],
        "plan_history": ["customer_id", "plan_tier", "effective_from", "change_reason"],
        "crm": ["customer_id", "snapshot_date", "account_status", "cancellation_reason", "last_login_at",
                "plan_tier"],
        "labels": ["customer_id", "cutoff", "churned"],
    }
    total = n_customers(scale)          # decided here, so that every task simulates the same scale
    blocks = spark.range(n_blocks(scale), numPartitions=max(1, n_blocks(scale)))
    folders = {"customers": "customers", "plan_history": "plan_history", "crm": "crm", "labels": "truth"}
    for kind, columns in schemas.items():
        schema = T.StructType([T.StructField(c, string) for c in columns])

        def gen(batches, kind=kind, columns=columns):
            for pdf in batches:
                for b in pdf["id"]:
                    yield block_frames(seed, scale, int(b), (kind,), total)[kind][columns].astype("string")

        (blocks.mapInPandas(gen, schema).write.mode("overwrite").option("header", True)
         .csv(str(out / folders[kind])))
    event_schema = T.StructType([T.StructField(c, T.DoubleType() if c == "amount" else string)
                                 for c in EVENT_COLUMNS + ["batch"]])

    def gen_events(batches):
        for pdf in batches:
            for b in pdf["id"]:
                ev = block_frames(seed, scale, int(b), ("events",), total)["events"]
                yield ev[EVENT_COLUMNS + ["batch"]]

    (blocks.mapInPandas(gen_events, event_schema).repartition("batch").write.mode("overwrite")
     .partitionBy("batch").json(str(out / "events")))
