"""The library's estimators: scikit-learn classifiers with defaults that hold at scale.

scikit-learn's own defaults suit neither end of lead scoring. An unconstrained
RandomForest grows every tree until each leaf holds one lead: at 1M leads that is
1.3 GB on disk, 12 ms to score a lead and a worse AUC (it memorises noise). A
default HistGradientBoosting is fast and small but takes large steps and deep
leaves on tables of a few thousand leads. The defaults below were measured; the
numbers are in ``docs/preparing-data.md``.
"""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

from leadlife.errors import ModelError

__all__ = ["ESTIMATOR_DEFAULTS", "make_estimator"]

ESTIMATOR_DEFAULTS: dict[str, dict[str, Any]] = {
    "random_forest": {
        "n_estimators": 100,
        # A cap on the leaves bounds the model whatever the number of rows: at most
        # 2 * 4096 nodes of 80 bytes per tree, 63 MB for 100 trees, where the unbounded
        # forest grows with the data (1.3 GB at 1M rows).
        "max_leaf_nodes": 4096,
        # Leaves of a few leads average out label noise on small tables (X Education:
        # AUC 0.899 with 1, 0.907 with 3).
        "min_samples_leaf": 3,
        "max_features": "sqrt",
        "n_jobs": 1,
    },
    "hist_gradient_boosting": {
        # Small steps, small trees, and half the features per split: the X Education
        # tuning (docs/preparing-data.md) and sound defaults for tens of thousands of
        # leads; early stopping ("auto") takes over above 10,000 rows.
        "learning_rate": 0.05,
        "max_iter": 300,
        "max_leaf_nodes": 15,
        "min_samples_leaf": 30,
        "l2_regularization": 1.0,
        "max_features": 0.5,
    },
}
"""The parameters :func:`make_estimator` sets, per kind, on top of scikit-learn's."""

_CLASSES: dict[str, type[Any]] = {
    "random_forest": RandomForestClassifier,
    "hist_gradient_boosting": HistGradientBoostingClassifier,
}


def make_estimator(
    kind: str = "random_forest", *, random_state: int | None = 0, **params: Any
) -> Any:
    """A fresh, unfitted classifier of ``kind`` with the library's defaults.

    :param kind: ``"random_forest"`` (:class:`~sklearn.ensemble.RandomForestClassifier`)
        or ``"hist_gradient_boosting"``
        (:class:`~sklearn.ensemble.HistGradientBoostingClassifier`).
    :param random_state: seeds the estimator, so the same data gives the same model.
    :param params: any of the estimator's own parameters; they override the defaults
        (:data:`ESTIMATOR_DEFAULTS`).

    HistGradientBoosting keeps ``categorical_features="from_dtype"``: the model scorer
    then gives it the encoder's categorical mask. Pass ``categorical_features=mask``
    yourself when you use it outside the scorer (``TabularEncoder().categorical_mask_``),
    or ``None`` to treat the codes as numbers.
    """
    cls = _CLASSES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ModelError(
            f"unknown estimator kind {kind!r}; the known kinds are "
            f"{', '.join(repr(k) for k in _CLASSES)}. Fix: pass one of them, or give a "
            "scikit-learn classifier itself"
        )
    settings = {**ESTIMATOR_DEFAULTS[kind], "random_state": random_state, **params}
    try:
        return cls(**settings)
    except TypeError as error:
        raise ModelError(
            f"make_estimator({kind!r}): {error}. Fix: pass parameters of {cls.__name__} only"
        ) from error
