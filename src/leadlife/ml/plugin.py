"""The plugin that puts a trained model to work inside an engine."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from leadlife.enrichment import Enricher
from leadlife.errors import RegistrationError
from leadlife.ml.features import FeatureSpec, FeatureTrail
from leadlife.ml.scorer import ModelScorer
from leadlife.plugins.hookspecs import hookimpl
from leadlife.scoring import Scorer

__all__ = ["ModelScoring"]


class ModelScoring:
    """Registers a fitted :class:`~leadlife.ml.scorer.ModelScorer` with an engine.

    ``model`` is a fitted scorer or the path of a saved one (loaded, and checked,
    with :func:`~leadlife.ml.persistence.load_model`). The plugin also registers the
    :class:`~leadlife.ml.features.FeatureTrail` enricher for the model's feature
    spec, so live leads keep the channels and texts their features read; and the
    scorer's ``window_days`` makes the engine keep day counts as long as its longest
    window. A model whose columns are not the ones its spec builds for a live lead
    (trained on a subset of ``build_features``' columns, or on an array) is refused
    with a :class:`~leadlife.errors.FeatureSchemaError` naming them. The rule scorers
    stay registered: name the driver of the bands in the rulebook
    (``bands.scorer = "model"``) or keep the rules driving them.

    >>> engine = leadlife.Engine(plugins=[ModelScoring("models/lead-scorer")])  # doctest: +SKIP
    """

    def __init__(self, model: ModelScorer | str | os.PathLike[str], *, trail: bool = True):
        if isinstance(model, str | os.PathLike):
            from leadlife.ml.persistence import load_model

            model = load_model(model)
        if not isinstance(model, ModelScorer) or not hasattr(model, "estimator_"):
            raise RegistrationError(
                "ModelScoring",
                "leadlife_register_scorers",
                f"got {type(model).__name__}; give a fitted ModelScorer or a saved model's path",
            )
        # Columns the live rows and the model disagree on would fail every event:
        # refused here, once, naming them (FeatureSchemaError).
        model._check_live_columns()
        self.model = model
        self.trail = trail

    @property
    def spec(self) -> FeatureSpec:
        """The feature spec live leads are scored with."""
        spec: Any = getattr(self.model, "spec_", None)
        return spec if isinstance(spec, FeatureSpec) else FeatureSpec()

    @hookimpl
    def leadlife_register_scorers(self, register: Callable[[Scorer], None]) -> None:
        """Register the model under its ``name`` (``"model"`` by default)."""
        register(self.model)

    @hookimpl
    def leadlife_register_enrichers(self, register: Callable[[Enricher], None]) -> None:
        """Register the feature trail the model's live features read."""
        if self.trail:
            register(FeatureTrail(self.spec))

    def __repr__(self) -> str:
        return f"ModelScoring({self.model.name!r})"
