"""The canary: a reproducible, sticky traffic split; a decision rule that promotes only on good
evidence; and the decision carried out through the registry aliases, with two real endpoints."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lakeprep import canary, serving
from lakeprep.canary import CHALLENGER, CHAMPION, CanaryResult, RouteStats, Router

sys.path.insert(0, str(Path(__file__).resolve().parent))  # pytest runs with --import-mode=importlib
from test_serving_support import FEATURES, MODEL, frame, registry  # noqa: E402,F401


def test_router_is_reproducible_and_sticky():
    keys = [f"C{i}" for i in range(2000)]
    a, b = Router(0.2, seed=7), Router(0.2, seed=7)
    assert a.routes(keys) == b.routes(keys)
    assert a.routes(keys) != Router(0.2, seed=8).routes(keys)
    assert all(a.route(k) == a.route(k) for k in keys[:50])


@pytest.mark.parametrize("share", [0.0, 0.05, 0.1, 0.5, 1.0])
def test_router_sends_the_configured_share(share):
    routes = Router(share, seed=3).routes(range(20_000))
    observed = routes.count(CHALLENGER) / len(routes)
    assert observed == pytest.approx(share, abs=0.015)


def test_router_rejects_impossible_shares():
    with pytest.raises(ValueError):
        Router(1.5)


def _result(champion=None, challenger=None):
    def stats(version, n, errors=0, latency=5.0, score=0.3):
        return RouteStats(version, [latency] * n, [200] * (n - errors) + [400] * errors,
                          [score + 0.05 * i / (n - errors) for i in range(n - errors)])
    return CanaryResult(0.1, 42, {CHAMPION: stats("1", 300, **(champion or {})),
                                  CHALLENGER: stats("2", 40, **(challenger or {}))}, MODEL)


def test_rule_promotes_a_challenger_that_matches_the_champion():
    decision = canary.decide(_result())
    assert decision.promote, decision.reasons
    assert decision.champion_version == "1" and decision.challenger_version == "2"


@pytest.mark.parametrize("challenger, failed", [
    ({"errors": 5}, "error_rate"),
    ({"latency": 80.0}, "latency_p95"),
    ({"score": 0.8}, "prediction_psi"),
])
def test_rule_rolls_back_a_worse_challenger(challenger, failed):
    decision = canary.decide(_result(challenger=challenger))
    assert decision.action == "rollback"
    assert not decision.checks[failed]
    assert sum(not ok for ok in decision.checks.values()) == 1


def test_rule_rolls_back_without_enough_evidence():
    result = _result()
    result.routes[CHALLENGER] = RouteStats("2", [5.0] * 5, [200] * 5, [0.3] * 5)
    decision = canary.decide(result)
    assert decision.action == "rollback" and not decision.checks["enough_traffic"]


def test_rule_is_stated():
    assert "promote the challenger only if" in canary.Rule().describe()


def test_canary_between_two_real_endpoints(registry, tmp_path):
    from mlflow import MlflowClient

    from lakeprep.inference_log import InferenceLog

    client = MlflowClient()
    rows = frame(120, seed=9)
    router = Router(0.3, seed=11)
    log = InferenceLog()
    try:
        with serving.endpoint(f"{MODEL}@champion", folder=tmp_path) as champ, \
                serving.endpoint(f"{MODEL}@challenger", folder=tmp_path) as chall:
            assert champ.port != chall.port
            result = canary.run(champ, chall, rows, router=router, feature_columns=FEATURES,
                                max_requests=120, log=log)
        expected = router.routes(rows["customer_id"])
        assert len(result.routes[CHALLENGER].statuses) == expected.count(CHALLENGER)
        assert len(result.routes[CHAMPION].statuses) == expected.count(CHAMPION)
        table = result.compare()
        assert table.loc[CHAMPION, "version"] == registry["champion"]
        assert table.loc[CHALLENGER, "version"] == registry["challenger"]
        assert (table["errors"] == 0).all() and table["requests"].sum() == 120
        # the two versions are different fits: their scores differ
        assert table.loc[CHAMPION, "mean_score"] != table.loc[CHALLENGER, "mean_score"]
        logged = log.to_pandas()
        assert len(logged) == 120 and set(logged["route"]) == {CHAMPION, CHALLENGER}
        assert set(logged["model_version"]) == {registry["champion"], registry["challenger"]}

        decision = canary.decide(result, canary.Rule(min_challenger_requests=10))
        record = canary.apply(decision, MODEL)
        champion_now = str(client.get_model_version_by_alias(MODEL, "champion").version)
        wanted = registry["challenger"] if decision.promote else registry["champion"]
        assert champion_now == wanted == record["champion_after"]
        tags = client.get_model_version(MODEL, registry["challenger"]).tags
        assert tags["canary_decision"] == decision.action
        if decision.promote:
            assert tags["previous_champion"] == registry["champion"]
            assert "lakeprep promote" in record["how"]
        assert len(list(tmp_path.glob("*.pid"))) == 0
    finally:  # other modules share this registry: put the aliases back
        client.set_registered_model_alias(MODEL, "champion", registry["champion"])
        client.set_registered_model_alias(MODEL, "challenger", registry["challenger"])


def test_apply_rollback_keeps_the_champion(registry):
    from mlflow import MlflowClient

    client = MlflowClient()
    decision = canary.decide(_result(challenger={"errors": 10}))
    decision.champion_version, decision.challenger_version = registry["champion"], registry["challenger"]
    try:
        record = canary.apply(decision, MODEL)
        assert record["action"] == "rollback"
        assert str(client.get_model_version_by_alias(MODEL, "champion").version) == registry["champion"]
        assert client.get_model_version(MODEL, registry["challenger"]).tags["canary_decision"] == "rollback"
    finally:
        client.set_registered_model_alias(MODEL, "champion", registry["champion"])
