"""A canary between two served versions: route a share of traffic to the challenger, compare the
routes, then promote or roll back through the registry aliases by a rule fixed in advance.

    router = Router(challenger_share=0.1, seed=42)        # sticky per customer, reproducible
    result = run(champion_ep, challenger_ep, frame, router=router, key_column="customer_id",
                 feature_columns=FEATURES)
    table = result.compare()                               # one row per route
    decision = decide(result, Rule())                      # promote or roll back, with reasons
    record = apply(decision, model_name)                   # moves aliases, tags both versions

On Databricks the split is a `traffic_config` with two routes on one endpoint; locally it is two
scoring servers and this router in front of them.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field

CHAMPION, CHALLENGER = "champion", "challenger"


class Router:
    """Sends a fixed share of keys to the challenger. The choice hashes (seed, key), so the same
    customer always lands on the same route and the same seed gives the same split."""

    def __init__(self, challenger_share: float = 0.1, seed: int = 42):
        if not 0.0 <= challenger_share <= 1.0:
            raise ValueError("challenger_share must be between 0 and 1")
        self.challenger_share, self.seed = float(challenger_share), int(seed)

    def position(self, key) -> float:
        digest = hashlib.sha256(f"{self.seed}:{key}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2 ** 64

    def route(self, key) -> str:
        return CHALLENGER if self.position(key) < self.challenger_share else CHAMPION

    def routes(self, keys) -> list[str]:
        return [self.route(k) for k in keys]


@dataclass
class RouteStats:
    version: str
    latencies_ms: list = field(default_factory=list)
    statuses: list = field(default_factory=list)
    predictions: list = field(default_factory=list)


@dataclass
class CanaryResult:
    share: float
    seed: int
    routes: dict            # route name -> RouteStats
    model_name: str = ""
    started: str = ""

    def compare(self):
        """Error rate, latency percentiles and prediction distribution per route."""
        import numpy as np
        import pandas as pd

        rows = {}
        for name, s in self.routes.items():
            lat = np.asarray(s.latencies_ms, dtype=float)
            pred = np.asarray(s.predictions, dtype=float)
            n = len(s.statuses)
            errors = sum(1 for x in s.statuses if x != 200)
            rows[name] = {
                "version": s.version, "requests": n, "errors": errors,
                "error_rate": errors / n if n else float("nan"),
                "p50_ms": float(np.percentile(lat, 50)) if n else float("nan"),
                "p95_ms": float(np.percentile(lat, 95)) if n else float("nan"),
                "rows_scored": len(pred),
                "mean_score": float(pred.mean()) if len(pred) else float("nan"),
                "p90_score": float(np.percentile(pred, 90)) if len(pred) else float("nan"),
            }
        return pd.DataFrame.from_dict(rows, orient="index")

    def prediction_psi(self) -> float:
        """PSI of the challenger's scores against the champion's (champion deciles as bins)."""
        from lakeprep.drift import psi

        champion, challenger = self.routes[CHAMPION].predictions, self.routes[CHALLENGER].predictions
        if not champion or not challenger:
            return float("nan")
        return psi(champion, challenger)


def run(champion, challenger, frame, *, router: Router, key_column: str = "customer_id",
        feature_columns=None, max_requests: int = 400, fmt: str = "dataframe_split",
        log=None) -> CanaryResult:
    """Replay `frame` one row per request (at most `max_requests` rows), each row to the route the
    router picks for its key; record status, latency and score per route. `log`, when given, is
    an InferenceLog that receives every request with its route."""
    from lakeprep.serving import payload, scores

    endpoints = {CHAMPION: champion, CHALLENGER: challenger}
    stats = {name: RouteStats(ep.version) for name, ep in endpoints.items()}
    columns = list(feature_columns) if feature_columns is not None else list(frame.columns)
    rows = frame.head(max_requests)
    for i in range(len(rows)):
        row = rows.iloc[[i]]
        name = router.route(row[key_column].iloc[0]) if key_column in row else \
            router.route(i)
        ep = endpoints[name]
        reply = ep.query(payload(row[columns], fmt))
        predicted = scores(reply.body["predictions"]) if reply.ok else []
        s = stats[name]
        s.latencies_ms.append(reply.latency_ms)
        s.statuses.append(reply.status)
        s.predictions.extend(predicted)
        if log is not None:
            log.record(row, reply, predicted, endpoint=ep, route=name)
    model = getattr(getattr(champion, "ref", None), "name", "")
    return CanaryResult(router.challenger_share, router.seed, stats, model,
                        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))


@dataclass(frozen=True)
class Rule:
    """Promote only when every condition holds; otherwise roll back (keep the champion)."""

    min_challenger_requests: int = 20      # less evidence than this decides nothing: roll back
    max_error_rate_increase: float = 0.01  # challenger error rate <= champion's + 1 point
    max_p95_ratio: float = 1.5             # challenger p95 <= 1.5 x champion p95 ...
    p95_slack_ms: float = 25.0             # ... + 25 ms of slack for loopback jitter
    max_prediction_psi: float = 0.25       # score distributions must not move wholesale

    def describe(self) -> str:
        return (f"promote the challenger only if it served at least {self.min_challenger_requests} "
                f"requests, its error rate is at most {self.max_error_rate_increase:.0%} above the "
                f"champion's, its p95 latency is at most {self.max_p95_ratio}x the champion's "
                f"+ {self.p95_slack_ms:.0f} ms, and the PSI of its scores against the champion's "
                f"is at most {self.max_prediction_psi}; otherwise roll back")


@dataclass
class Decision:
    action: str                     # "promote" or "rollback"
    reasons: list
    checks: dict
    rule: dict
    champion_version: str
    challenger_version: str
    model_name: str = ""

    @property
    def promote(self) -> bool:
        return self.action == "promote"

    def as_dict(self) -> dict:
        return asdict(self)


def decide(result: CanaryResult, rule: Rule = Rule()) -> Decision:
    table = result.compare()
    champ, chall = table.loc[CHAMPION], table.loc[CHALLENGER]
    prediction_psi = result.prediction_psi()
    checks = {
        "enough_traffic": bool(chall["requests"] >= rule.min_challenger_requests),
        "error_rate": bool(chall["error_rate"] <= champ["error_rate"] + rule.max_error_rate_increase),
        "latency_p95": bool(chall["p95_ms"] <= champ["p95_ms"] * rule.max_p95_ratio + rule.p95_slack_ms),
        "prediction_psi": bool(prediction_psi == prediction_psi  # not NaN
                               and prediction_psi <= rule.max_prediction_psi),
    }
    reasons = [
        f"challenger requests {int(chall['requests'])} (need >= {rule.min_challenger_requests})",
        f"error rate {chall['error_rate']:.3f} vs champion {champ['error_rate']:.3f}",
        f"p95 {chall['p95_ms']:.1f} ms vs champion {champ['p95_ms']:.1f} ms",
        f"score PSI {prediction_psi:.3f} (max {rule.max_prediction_psi})",
    ]
    action = "promote" if all(checks.values()) else "rollback"
    return Decision(action, reasons, checks, asdict(rule), str(champ["version"]),
                    str(chall["version"]), result.model_name)


def apply(decision: Decision, model_name: str | None = None, client=None, reason: str = "") -> dict:
    """Carry the decision out through the aliases and record it on both versions.

    promote: `champion` moves to the challenger's version through `lakeprep promote` (which checks
    the version's gate status and records `previous_champion`), or, where that module is absent,
    through `MlflowClient.set_registered_model_alias` with the same tag.
    rollback: `champion` stays on (or returns to) the version that was champion during the canary;
    the challenger's version is tagged as rejected and keeps its `challenger` alias for the
    investigation.
    """
    from mlflow import MlflowClient

    client = client or MlflowClient()
    name = model_name or decision.model_name
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    why = reason or f"canary {decision.action}: " + "; ".join(decision.reasons)
    action = decision.action
    if decision.promote:
        try:
            from lakeprep import promote as promotion
        except ImportError:  # the promotion command is not installed: move the alias directly
            promotion = None
        if promotion is not None:
            try:
                moved = promotion.promote(name, version=decision.challenger_version, reason=why,
                                          client=client)
                how = f"lakeprep promote: {moved}"
            except promotion.PromotionRefused as refused:  # the gates have the last word
                action, how = "rollback", f"lakeprep promote refused: {refused}"
        else:
            client.set_registered_model_alias(name, "champion", decision.challenger_version)
            client.set_model_version_tag(name, decision.challenger_version, "previous_champion",
                                         decision.champion_version)
            how = "MlflowClient.set_registered_model_alias"
    else:
        current = str(client.get_model_version_by_alias(name, "champion").version)
        if current != decision.champion_version:
            client.set_registered_model_alias(name, "champion", decision.champion_version)
            how = f"champion moved back from v{current} to v{decision.champion_version}"
        else:
            how = f"champion stays on v{current}"
    summary = json.dumps({"action": action, "checks": decision.checks, "how": how, "at": stamp})
    client.set_model_version_tag(name, decision.challenger_version, "canary_decision", action)
    client.set_model_version_tag(name, decision.challenger_version, "canary_evidence", summary[:5000])
    client.set_model_version_tag(name, decision.champion_version, "canary_compared_with",
                                 decision.challenger_version)
    champion_now = str(client.get_model_version_by_alias(name, "champion").version)
    return {**decision.as_dict(), "action": action, "rule_said": decision.action, "model_name": name,
            "champion_after": champion_now, "how": how, "reason": why, "at": stamp}


def plot(result: CanaryResult):
    """Latency and score distributions per route."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, s in result.routes.items():
        label = f"{name} (v{s.version}, n={len(s.statuses)})"
        if s.latencies_ms:
            lat = np.sort(s.latencies_ms)
            left.step(lat, np.arange(1, len(lat) + 1) / len(lat), where="post", label=label)
        if s.predictions:
            right.hist(s.predictions, bins=20, range=(0, 1), density=True, alpha=0.5, label=label)
    left.set_xscale("log")
    left.set_xlabel("latency (ms, log scale)")
    left.set_ylabel("share of requests")
    left.legend(fontsize=8)
    right.set_xlabel("score")
    right.set_ylabel("density")
    right.legend(fontsize=8)
    fig.suptitle(f"Canary: {result.share:.0%} of customers to the challenger (seed {result.seed})")
    fig.tight_layout()
    return fig
