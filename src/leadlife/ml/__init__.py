"""Machine-learning lead scoring: features, inferred profile fields, training, persistence.

``import leadlife`` never loads this package; importing ``leadlife.ml`` loads pandas
and scikit-learn. Names are resolved lazily so that using one part (say, features)
does not import the others (say, matplotlib for the evaluation plots).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    # features from the event log and from a live lead
    "FeatureSpec": "leadlife.ml.features",
    "build_features": "leadlife.ml.features",
    "lead_features": "leadlife.ml.features",
    "FeatureTrail": "leadlife.ml.features",
    # inferred profile fields (enricher plugins)
    "IndustryInferrer": "leadlife.ml.inferred",
    "CompanyByIP": "leadlife.ml.inferred",
    "CompanyEnquiries": "leadlife.ml.inferred",
    "InferredProfile": "leadlife.ml.inferred",
    # tabular preparation, estimators, leakage
    "TabularEncoder": "leadlife.ml.encoding",
    "clean_frame": "leadlife.ml.encoding",
    "make_estimator": "leadlife.ml.estimators",
    "check_leakage": "leadlife.ml.leakage",
    "Leak": "leadlife.ml.leakage",
    "LeakageWarning": "leadlife.ml.leakage",
    "load_x_education": "leadlife.ml.datasets",
    # the model scorer and its compiled per-lead path
    "ModelScorer": "leadlife.ml.scorer",
    "compile_trees": "leadlife.ml.compiled",
    "ModelScoring": "leadlife.ml.plugin",
    # training, evaluation, persistence
    "train": "leadlife.ml.training",
    "TrainingResult": "leadlife.ml.training",
    "evaluate": "leadlife.ml.evaluation",
    "EvaluationReport": "leadlife.ml.evaluation",
    "save_model": "leadlife.ml.persistence",
    "load_model": "leadlife.ml.persistence",
    "compare_models": "leadlife.ml.persistence",
    "hash_frame": "leadlife.ml.persistence",
    "model_versions": "leadlife.ml.persistence",
    "read_sidecar": "leadlife.ml.persistence",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'leadlife.ml' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
