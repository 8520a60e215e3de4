"""The churn model as one deployable object: preprocessing + an XGBoost booster behind pyfunc.

`Preprocessor` turns the feature columns of a training set into the numeric matrix the booster
reads (categoricals one-hot encoded against the training vocabulary, unknown levels to all zeros,
nulls left as NaN for XGBoost's learned default branch). Lab 3 trains with it; lab 4 packages it
with the booster inside `ChurnModel`, so that serving repeats exactly what training did.

This file is also the model's code: it is logged as a "model from code" (MLflow 3), copied into
the model artifact and executed on load, so it imports nothing from `lakeprep` and loads wherever
mlflow, pandas, numpy and xgboost are installed (a serving container knows nothing of this repo).
"""
from __future__ import annotations

import json
import math

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

OUTPUT_NAME = "probability"


class Preprocessor:
    """Fit on training rows once; transform any later rows the same way."""

    def __init__(self, numeric: list[str], categorical: list[str], vocabulary: dict[str, list[str]],
                 decision_threshold: float = 0.5):
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        self.vocabulary = {k: list(v) for k, v in vocabulary.items()}
        self.decision_threshold = float(decision_threshold)

    @classmethod
    def fit(cls, frame: pd.DataFrame, *, numeric, categorical, max_levels: int = 30,
            decision_threshold: float = 0.5) -> "Preprocessor":
        vocabulary = {}
        for column in categorical:
            counts = frame[column].dropna().astype(str).value_counts()
            # most frequent first, ties by name: the same rows always give the same columns
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:max_levels]
            vocabulary[column] = sorted(level for level, _ in ranked)
        return cls(numeric, categorical, vocabulary, decision_threshold)

    @classmethod
    def infer(cls, frame: pd.DataFrame, *, exclude=(), **kwargs) -> "Preprocessor":
        """Fit with the columns split by type: numbers (and booleans) are numeric, text is
        categorical; dates, keys and the label belong in `exclude`."""
        numeric, categorical = [], []
        for column in frame.columns:
            if column in exclude:
                continue
            dtype = frame[column].dtype
            if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
                numeric.append(column)
            elif pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
                categorical.append(column)
            else:
                raise TypeError(f"column {column!r} has type {dtype}: derive a number from it or "
                                "pass it in `exclude`")
        return cls.fit(frame, numeric=numeric, categorical=categorical, **kwargs)

    @property
    def input_columns(self) -> list[str]:
        return self.numeric + self.categorical

    @property
    def feature_names(self) -> list[str]:
        names = list(self.numeric)
        for column in self.categorical:
            names += [f"{column}__{_safe(level)}" for level in self.vocabulary[column]]
        return names

    def input_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's input columns with stable dtypes: numbers as float64 (a missing value must
        not turn an integer column into a schema error at serving time), categories as strings."""
        missing = [c for c in self.input_columns if c not in frame.columns]
        if missing:
            raise KeyError(f"input is missing feature column(s) {missing}; "
                           f"the model expects {self.input_columns}")
        out = pd.DataFrame(index=frame.index)
        for column in self.numeric:
            out[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        for column in self.categorical:
            values = frame[column].astype(object)
            out[column] = values.where(values.isna(), values.astype(str)).where(values.notna(), None)
        return out

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        clean = self.input_frame(frame)
        blocks = [clean[self.numeric].to_numpy(dtype="float64")] if self.numeric else []
        for column in self.categorical:
            values = clean[column].to_numpy(dtype=object)
            levels = np.asarray(self.vocabulary[column], dtype=object)
            blocks.append((values[:, None] == levels[None, :]).astype("float64"))
        matrix = np.hstack(blocks) if blocks else np.empty((len(frame), 0))
        return pd.DataFrame(matrix, index=frame.index, columns=self.feature_names)

    def to_dict(self) -> dict:
        return {"numeric": self.numeric, "categorical": self.categorical,
                "vocabulary": self.vocabulary, "decision_threshold": self.decision_threshold}

    @classmethod
    def from_dict(cls, data: dict) -> "Preprocessor":
        return cls(data["numeric"], data["categorical"], data["vocabulary"],
                   data.get("decision_threshold", 0.5))


def _safe(level: str) -> str:
    """XGBoost refuses feature names with [, ] or <."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(level))


# -- training ------------------------------------------------------------------------------------

def booster_params(params: dict, *, seed: int, nthread: int = 1) -> dict:
    """Full XGBoost parameters from the tuned ones: the fixed parts are spelled out so that a
    retrain with the same dict and seed gives the same trees."""
    full = {"objective": "binary:logistic", "eval_metric": ["aucpr", "logloss"],
            "tree_method": "hist", "seed": int(seed), "nthread": int(nthread)}
    full.update({k: v for k, v in params.items() if k != "num_boost_round"})
    return full


def train_booster(X: pd.DataFrame, y, params: dict, *, seed: int, valid=None, nthread: int = 1):
    """Train a booster. `params` holds `num_boost_round` and the tuned XGBoost parameters;
    `valid` is an optional (X, y) pair evaluated every round (autolog records it)."""
    import xgboost as xgb

    train = xgb.DMatrix(X, label=np.asarray(y, dtype="float64"), feature_names=list(X.columns))
    evals = [(train, "train")]
    if valid is not None:
        evals.append((xgb.DMatrix(valid[0], label=np.asarray(valid[1], dtype="float64"),
                                  feature_names=list(valid[0].columns)), "valid"))
    return xgb.train(booster_params(params, seed=seed, nthread=nthread), train,
                     num_boost_round=int(params.get("num_boost_round", 100)), evals=evals,
                     verbose_eval=False)


def predict_proba(booster, X: pd.DataFrame) -> np.ndarray:
    """Churn probabilities: the one prediction path that training, reproduction and serving share."""
    return np.asarray(booster.inplace_predict(X, validate_features=False), dtype="float64")


# -- the pyfunc ----------------------------------------------------------------------------------

class ChurnModel(PythonModel):
    """pyfunc wrapper: raw feature columns in, churn probability (or a 0/1 label) out.

    Artifacts: `booster` (XGBoost UBJSON) and `preprocessing` (the Preprocessor as JSON).
    Params: `output` = "probability" (default) or "label" (probability >= the decision threshold
    chosen in lab 3).
    """

    def load_context(self, context):
        import xgboost as xgb

        self.booster = xgb.Booster()
        self.booster.load_model(context.artifacts["booster"])
        # One thread: a request holds a handful of rows, and waking a thread pool per request
        # costs far more than the trees (tens of ms on a busy machine against a fraction of one).
        self.booster.set_param({"nthread": 1})
        with open(context.artifacts["preprocessing"]) as handle:
            self.preprocessor = Preprocessor.from_dict(json.load(handle))

    def predict(self, context, model_input: pd.DataFrame, params=None):
        if not isinstance(model_input, pd.DataFrame):
            model_input = pd.DataFrame(model_input)
        X = self.preprocessor.transform(model_input)
        probability = predict_proba(self.booster, X)
        if (params or {}).get("output", "probability") == "label":
            return pd.Series((probability >= self.preprocessor.decision_threshold).astype("int64"),
                             name="label")
        return pd.Series(probability, name=OUTPUT_NAME)


def model_files(booster, preprocessor: Preprocessor, folder) -> dict:
    """Write the two artifacts into `folder` and return the `artifacts=` mapping for log_model."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    booster_path, prep_path = folder / "booster.ubj", folder / "preprocessing.json"
    booster.save_model(str(booster_path))
    prep_path.write_text(json.dumps(preprocessor.to_dict(), indent=2, sort_keys=True))
    return {"booster": str(booster_path), "preprocessing": str(prep_path)}


def signature_for(preprocessor: Preprocessor, rows: pd.DataFrame, output: pd.Series):
    """The serving contract, inferred from the training rows themselves (pass all of them, not
    a sample) so that column types are those the feature tables deliver and every column that can
    be null is marked optional; plus the `output` param."""
    import warnings

    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        # MLflow warns that integer columns cannot hold missing values. That is the point of
        # inferring from the training rows: a column that can be empty arrives as a float there.
        warnings.filterwarnings("ignore", message=r".*Integer columns in Python cannot represent")
        return infer_signature(rows[preprocessor.input_columns], output,
                               params={"output": "probability"})


def requirements() -> list[str]:
    """Pinned pip requirements, written out so MLflow does not spend seconds inferring them."""
    from importlib import metadata

    pins = []
    for dist, name in (("mlflow", "mlflow"), ("xgboost-cpu", "xgboost-cpu"), ("xgboost", "xgboost"),
                       ("pandas", "pandas"), ("numpy", "numpy")):
        try:
            pins.append(f"{name}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    if any(p.startswith("xgboost-cpu") for p in pins):
        pins = [p for p in pins if not p.startswith("xgboost==")]
    return pins


MODEL_CODE = __file__  # logged as a model from code: the file itself goes into the model


def churn_model_parts(booster, preprocessor: Preprocessor, rows: pd.DataFrame, folder) -> dict:
    """Everything `log_model` needs besides the model code: the artifacts (written into `folder`),
    the signature inferred from `rows` (the training rows), a 3-row input example and pinned pip
    requirements (so MLflow does not spend seconds inferring them)."""
    artifacts = model_files(booster, preprocessor, folder)
    output = pd.Series(predict_proba(booster, preprocessor.transform(rows)), name=OUTPUT_NAME)
    return {"artifacts": artifacts, "signature": signature_for(preprocessor, rows, output),
            "input_example": rows[preprocessor.input_columns].head(3),
            "pip_requirements": requirements()}


def log_churn_model(booster, preprocessor: Preprocessor, rows: pd.DataFrame, *, name: str = "model",
                    **kwargs):
    """Log booster + preprocessing as a pyfunc model from code, without feature lookups (the lab
    logs through the feature client instead; see `churn_model_parts`)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        parts = churn_model_parts(booster, preprocessor, rows, folder)
        return mlflow.pyfunc.log_model(name=name, python_model=MODEL_CODE, **parts, **kwargs)


def is_finite_probability(values) -> bool:
    values = np.asarray(values, dtype="float64")
    return bool(values.size) and all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in values)


# Logged as a model from code, this file must name the model it defines.
mlflow.models.set_model(ChurnModel())
