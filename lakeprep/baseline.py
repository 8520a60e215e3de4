"""Small scikit-learn helpers for the labs' first models: a majority-class baseline and a
logistic regression, split by cutoff (train on earlier months, validate on later ones).

Nothing here logs to MLflow on purpose: lab 1 shows what an untracked result looks like, and
chapter 3 shows what tracking adds.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lakeprep import datagen


@dataclass
class Scored:
    name: str
    auc: float
    pr_auc: float
    positives: int
    rows: int
    model: object = None
    scores: np.ndarray | None = None

    def as_row(self) -> dict:
        return {"model": self.name, "auc": round(self.auc, 4), "pr_auc": round(self.pr_auc, 4),
                "validation_rows": self.rows, "positives": self.positives}


def split(pdf: pd.DataFrame, *, cutoff: str = "cutoff", train=datagen.TRAIN_CUTOFFS,
          valid=datagen.VALIDATION_CUTOFFS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Out-of-time split: rows at training cutoffs, rows at validation cutoffs."""
    dates = pd.to_datetime(pdf[cutoff]).dt.date
    return pdf[dates.isin(train)].copy(), pdf[dates.isin(valid)].copy()


def majority(train: pd.DataFrame, valid: pd.DataFrame, *, label: str = "churned") -> Scored:
    """Always predict the training set's most frequent class (a constant score)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    constant = float(train[label].mean() >= 0.5)
    scores = np.full(len(valid), constant)
    y = valid[label].to_numpy()
    return Scored("majority class", float(roc_auc_score(y, scores)), float(average_precision_score(y, scores)),
                  int(y.sum()), len(y), None, scores)


def logistic(train: pd.DataFrame, valid: pd.DataFrame, *, numeric: list[str], categorical: list[str] = (),
             label: str = "churned", name: str = "logistic regression", seed: int = 0) -> Scored:
    """Standardised numeric columns + one-hot categoricals into a logistic regression."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score, roc_auc_score
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    steps = [("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), list(numeric))]
    if categorical:
        steps.append(("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                                           OneHotEncoder(handle_unknown="ignore")), list(categorical)))
    model = Pipeline([("prep", ColumnTransformer(steps)),
                      ("clf", LogisticRegression(max_iter=2000, random_state=seed))])
    columns = list(numeric) + list(categorical)
    model.fit(train[columns], train[label].to_numpy())
    scores = model.predict_proba(valid[columns])[:, 1]
    y = valid[label].to_numpy()
    return Scored(name, float(roc_auc_score(y, scores)), float(average_precision_score(y, scores)),
                  int(y.sum()), len(y), model, scores)


def results_table(*scored: Scored) -> pd.DataFrame:
    return pd.DataFrame([s.as_row() for s in scored])
