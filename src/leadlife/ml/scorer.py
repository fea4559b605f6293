"""The model scorer: a scikit-learn classifier that also answers leadlife's scoring protocol.

:class:`ModelScorer` wraps an encoder (:class:`~leadlife.ml.encoding.TabularEncoder`
by default) and a probabilistic classifier (a RandomForest from
:func:`~leadlife.ml.estimators.make_estimator` by default). As an estimator it fits,
predicts and clones like any scikit-learn classifier; as a scorer it gives the
engine a 0-100 score per live lead, explains it feature by feature, and scores whole
frames for the daily high/medium/low tagging.

Scores: ``score = 100 * probability`` of the positive class (the one of ``classes_``
that reads as 1, True or "Yes" wherever it is listed, else the last; see
:func:`~leadlife.ml.encoding.positive_class`), unrounded so that the explanation adds up.
Tags: ``high`` from ``tags[0]``, ``medium`` from ``tags[1]``, ``low`` below, on the
probability.

Explanations: for tree ensembles the per-feature points are the path decomposition
of :class:`~leadlife.ml.compiled.CompiledTrees` (each split credits its feature with
the change in the trees' expected output); for other models, each feature's points
are how much the score falls when that feature alone is set to a typical training
value. Either way a ``baseline`` contribution and the feature points add up to the
score.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_is_fitted,
    column_or_1d,
    has_fit_parameter,
    validate_data,
)

from leadlife.errors import FeatureSchemaError, InvalidArgumentError, InvalidTimeError, ModelError
from leadlife.lead import Lead
from leadlife.ml.compiled import CompiledTrees, compile_trees
from leadlife.ml.encoding import (
    TabularEncoder,
    positive_class,
    refuse_mixed_column_names,
    refuse_repeated_columns,
)
from leadlife.ml.estimators import make_estimator
from leadlife.ml.features import FeatureSpec, lead_features
from leadlife.scoring.protocol import Contribution, ScoreResult

__all__ = ["BASELINE", "INTERACTIONS", "OTHER_FEATURES", "TAGS", "ModelScorer"]

BASELINE = "baseline"
"""Contribution name of the score before any feature is known (the model's base rate)."""
OTHER_FEATURES = "other features"
"""Contribution name of the summed points of the features beyond the ``top`` named ones."""
INTERACTIONS = "interactions"
"""Contribution name of the points no single feature accounts for (models without trees)."""
TAGS = ("high", "medium", "low")
"""The potential tags of :meth:`ModelScorer.score_frame`, best first."""

PASSTHROUGH = "passthrough"
# Rows decomposed at once by score_frame: bounds the (rows x trees) work arrays.
_CHUNK_ROWS = 2048

FloatArray = NDArray[np.float64]


class ModelScorer(ClassifierMixin, BaseEstimator):  # type: ignore[misc]  # sklearn is untyped
    """A lead-scoring classifier: encoder + estimator, scored 0-100 with reasons.

    :param estimator: an unfitted scikit-learn classifier with ``predict_proba``, a
        :class:`~sklearn.pipeline.Pipeline` (usually with ``encoder="passthrough"``),
        a kind for :func:`~leadlife.ml.estimators.make_estimator`
        (``"random_forest"``, ``"hist_gradient_boosting"``), or None for the default
        RandomForest. A HistGradientBoosting classifier whose ``categorical_features``
        is left at its default is told which encoded columns are categorical.
    :param encoder: a transformer preparing the frame (None: a
        :class:`~leadlife.ml.encoding.TabularEncoder`), or ``"passthrough"`` to hand the
        frame to the estimator untouched.
    :param name: the scorer's name in the engine (``lead.scores[name]``).
    :param tags: probability thresholds ``(high, medium)`` of the potential tags.
    :param top: how many features :meth:`explain` and the ``reasons`` column name;
        the rest are summed as ``"other features"``. None names them all.
    :param spec: the :class:`~leadlife.ml.features.FeatureSpec` that builds a live
        lead's row (``fit(..., spec=...)`` overrides it); None means the default spec.

    Fitted attributes: ``estimator_``, ``encoder_`` (or ``"passthrough"``),
    ``classes_``, ``n_features_in_``, ``feature_names_in_`` (when fitted on a frame
    with string column names), ``spec_``, ``compiled_`` (the flattened trees, or None
    when the per-lead path uses ``predict_proba``) and ``reference_`` (typical input
    values for explaining models without trees, else None).
    """

    def __init__(
        self,
        estimator: Any = None,
        encoder: Any = None,
        name: str = "model",
        tags: tuple[float, float] = (0.7, 0.4),
        top: int | None = 3,
        spec: Any = None,
    ):
        self.estimator = estimator
        self.encoder = encoder
        self.name = name
        self.tags = tags
        self.top = top
        self.spec = spec

    @property
    def window_days(self) -> int:
        """The longest count window of the spec, in days: how long the engine keeps
        the day buckets of a lead's behaviour so that live counts equal the batch ones."""
        spec = getattr(self, "spec_", None)
        if spec is None:
            spec = self.spec if self.spec is not None else _default_spec()
        return int(spec.longest_window)

    # -- scikit-learn estimator ------------------------------------------------------

    def set_params(self, **params: Any) -> ModelScorer:
        """Set parameters, nested ones too (``estimator__max_depth``); returns self.

        An estimator left as None or a kind (``"hist_gradient_boosting"``) is first
        made the estimator it stands for (:func:`~leadlife.ml.estimators.make_estimator`),
        and an encoder left as None a :class:`~leadlife.ml.encoding.TabularEncoder`,
        so a search can tune ``ModelScorer()``'s parts as it tunes given ones.
        """
        nested = {key.partition("__")[0] for key in params if "__" in key}
        default = self.estimator is None or isinstance(self.estimator, str)
        if "estimator" in nested and "estimator" not in params and default:
            self.estimator = make_estimator(self.estimator or "random_forest")
        if "encoder" in nested and "encoder" not in params and self.encoder is None:
            self.encoder = TabularEncoder()
        result: ModelScorer = super().set_params(**params)
        return result

    def fit(self, X: Any, y: Any, spec: Any = None, sample_weight: Any = None) -> ModelScorer:
        """Fit the encoder, then the estimator on the encoded frame; returns self.

        ``X`` is a DataFrame (string and category columns allowed) or a numeric array;
        ``y`` the labels. ``spec`` is the FeatureSpec ``X`` was built with, kept for
        scoring live leads. ``sample_weight`` (one non-negative weight per row, e.g.
        more for converters) is passed to the estimator's ``fit``, or to every step of
        a pipeline that takes weights; an estimator (a pipeline's last step) that
        takes none is refused with a :class:`~leadlife.errors.ModelError`.
        """
        self._check_settings()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        X = self._check_input(X, reset=True)
        y = self._check_target(y, X)
        encoder = self._new_encoder()
        estimator = self._new_estimator()
        if isinstance(encoder, str):
            model_input = X
        else:
            model_input = encoder.fit_transform(X)
            _tell_categorical_columns(estimator, encoder)
        try:
            estimator.fit(model_input, y, **_weight_params(estimator, sample_weight, len(y)))
        except ValueError as error:
            names = self._output_names(encoder, model_input)
            schema = _missing_values_error(encoder, estimator, model_input, names, error)
            if schema is None:
                raise
            raise schema from error
        self.encoder_ = encoder
        self.estimator_ = estimator
        self.classes_ = np.asarray(estimator.classes_)
        self.spec_ = spec if spec is not None else self.spec
        self._spec_checked = None
        self.compiled_ = None if isinstance(encoder, str) else compile_trees(estimator)
        self.reference_ = (
            None
            if self.compiled_ is not None
            else _typical_values(model_input, getattr(encoder, "categorical_mask_", None))
        )
        self._names_out = self._output_names(encoder, model_input)
        return self

    def predict_proba(self, X: Any) -> FloatArray:
        """Class probabilities, columns in the order of ``classes_``."""
        check_is_fitted(self)
        X = self._check_input(X, reset=False)
        return self._proba(self._encode(X))

    def predict(self, X: Any) -> NDArray[Any]:
        """The most probable class of each row."""
        proba = self.predict_proba(X)
        predicted: NDArray[Any] = self.classes_[np.argmax(proba, axis=1)]
        return predicted

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # Missing values are unknowns, not errors, when the estimator takes them (the
        # library's forests and boosting do; the encoder emits NaN for unknowns).
        estimator = self.estimator
        if estimator is None or isinstance(estimator, str):
            tags.input_tags.allow_nan = True
        else:
            tags.input_tags.allow_nan = get_tags(estimator).input_tags.allow_nan
        return tags

    def __getstate__(self) -> dict[str, Any]:
        # The flattened trees double a forest's size on disk; they are rebuilt on load.
        state = dict(super().__getstate__())
        state.pop("compiled_", None)
        state.pop("_spec_checked", None)  # an identity cache, meaningless once unpickled
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if "estimator_" in self.__dict__ and "compiled_" not in self.__dict__:
            encoder = self.__dict__.get("encoder_")
            self.compiled_ = None if isinstance(encoder, str) else compile_trees(self.estimator_)

    # -- scoring frames --------------------------------------------------------------

    def score_frame(self, X: Any, *, reasons: bool = True) -> pd.DataFrame:
        """Score every row: ``probability``, ``score`` (0-100), ``tag`` and ``reasons``.

        ``tag`` is ``"high"`` when the probability is at least ``tags[0]``,
        ``"medium"`` from ``tags[1]``, else ``"low"``. ``reasons`` names the ``top``
        features that moved the row's score most, largest first, as
        ``"name=value (+points)"`` joined by ``"; "``. Explaining costs more than
        scoring (for models without trees, one prediction per feature per row);
        ``reasons=False`` leaves the column out. The index is ``X``'s.
        """
        check_is_fitted(self)
        positive = self._positive_column()
        X = self._check_input(X, reset=False)
        model_input = self._encode(X)
        probability = self._proba(model_input)[:, positive]
        index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(probability))
        frame = pd.DataFrame(
            {
                "probability": probability,
                "score": 100.0 * probability,
                "tag": self._tags_of(probability),
            },
            index=index,
        )
        if reasons:
            frame["reasons"] = list(self._reason_texts(X, model_input, probability))
        return frame

    # -- scoring protocol ------------------------------------------------------------

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """``score(lead, now)``: the lead's score, 100 x the probability that it converts.

        This one name serves two contracts. Given a :class:`~leadlife.Lead` and a
        datetime it is the scoring protocol's method the engine calls on every event.
        Given a feature matrix and labels, ``score(X, y)`` is scikit-learn's mean
        accuracy (:meth:`sklearn.base.ClassifierMixin.score`), which model selection
        tools call.
        """
        if not isinstance(X, Lead):
            return float(super().score(X, y, sample_weight=sample_weight))
        if not isinstance(y, datetime):
            raise InvalidTimeError("now", y, "is not a datetime")
        check_is_fitted(self)
        return self._score_checked_row(self._lead_row(X, y))

    def score_row(self, row: Mapping[str, Any]) -> float:
        """The score (0-100) of one row given as a mapping of column → value.

        The per-lead path without a :class:`~leadlife.Lead`: a host that keeps its
        own feature rows (a CRM record, a request) scores them one at a time with
        the compiled trees, as ``score(lead, now)`` does; equal to
        ``score_frame`` on a one-row frame. Every fitted column must be present.
        """
        check_is_fitted(self)
        expected = getattr(self, "feature_names_in_", None)
        if expected is None:
            raise FeatureSchemaError(
                "the model was fitted on an array without column names, so a row's "
                "values cannot be matched to its columns",
                "fit it on a DataFrame, or score arrays with predict_proba",
            )
        missing = [str(name) for name in expected if name not in row]
        if missing:
            raise FeatureSchemaError(
                f"the row lacks {len(missing)} of the model's columns",
                "give every column the model was fitted on (None for unknown)",
                missing=missing,
            )
        return self._score_checked_row(row)

    def _score_checked_row(self, row: Mapping[str, Any]) -> float:
        compiled = self.compiled_
        positive = self._positive_column()
        if compiled is not None:
            return 100.0 * float(compiled.predict_proba_row(self._encoded_row(row))[positive])
        proba = self._estimator_proba(self._lead_input(row))
        return 100.0 * float(proba[0, positive])

    def explain(self, lead: Lead, now: datetime) -> ScoreResult:
        """The score at ``now`` with its contributions, largest first.

        Contributions are ``baseline`` (the score of a lead about whom nothing stands
        out), one per named feature (``rule`` = the column, ``value`` = the lead's
        value), ``other features`` (the rest, summed) and, for models without trees,
        ``interactions``. They add up to ``value``, the score.
        """
        check_is_fitted(self)
        positive = self._positive_column()
        row = self._lead_row(lead, now)
        compiled = self.compiled_
        if compiled is not None:
            x = self._encoded_row(row)
            probability = float(compiled.predict_proba_row(x)[positive])
            base, parts = compiled.decompose_row(x)
            baseline, points, rest = _points(
                compiled, base, parts[np.newaxis], probability, positive
            )
            encoded: Any = x
        else:
            model_input = self._lead_input(row)
            probability = float(self._estimator_proba(model_input)[0, positive])
            baseline, points, rest = self._occlusion_points(model_input, np.array([probability]))
            encoded = None if isinstance(model_input, pd.DataFrame) else model_input[0]
        inputs = self.feature_names_in_  # a live lead's row is by name (_lead_row checks)
        values = [
            _plain(row.get(inputs[source]))
            if source is not None
            else (_plain(encoded[j]) if encoded is not None else None)
            for j, source in enumerate(self._sources())
        ]
        contributions = self._contributions(float(baseline[0]), points[0], float(rest[0]), values)
        return ScoreResult(self.name, 100.0 * probability, tuple(contributions))

    # -- helpers: settings and input -------------------------------------------------

    def _check_settings(self) -> None:
        tags = self.tags
        # Unpacked and compared only once they are two numbers: anything else would
        # fail here with Python's own words about unpacking or comparing.
        if not (
            isinstance(tags, Sequence)
            and not isinstance(tags, str)
            and len(tags) == 2
            and all(isinstance(t, Real) and not isinstance(t, bool) for t in tags)
            and 0.0 <= tags[1] <= tags[0] <= 1.0
        ):
            raise InvalidArgumentError(
                "tags",
                f"{tags!r} are not two probability thresholds (high, medium)",
                "give (high, medium) with 0 <= medium <= high <= 1, e.g. (0.7, 0.4)",
            )
        top = self.top
        if top is not None and (not isinstance(top, int) or isinstance(top, bool) or top < 0):
            raise InvalidArgumentError(
                "top",
                f"{top!r} is not a number of features",
                "give how many features to name, 0 or more, or None for every one",
            )

    def _new_encoder(self) -> Any:
        if self.encoder is None:
            return TabularEncoder()
        if isinstance(self.encoder, str):
            if self.encoder != PASSTHROUGH:
                raise ValueError(
                    f"encoder: {self.encoder!r}; give a transformer, None for the "
                    "default TabularEncoder, or 'passthrough'"
                )
            return PASSTHROUGH
        return clone(self.encoder)

    def _new_estimator(self) -> Any:
        if self.estimator is None:
            return make_estimator("random_forest")
        if isinstance(self.estimator, str):
            return make_estimator(self.estimator)
        if not hasattr(self.estimator, "predict_proba"):
            raise TypeError(
                f"estimator: {type(self.estimator).__name__} has no predict_proba; give a "
                "probabilistic classifier, e.g. RandomForestClassifier()"
            )
        return clone(self.estimator)

    def _check_input(self, X: Any, *, reset: bool) -> Any:
        """X as the encoder will get it; the feature schema checked against fit's."""
        if sparse.issparse(X):
            raise TypeError(
                f"{type(self).__name__} does not take sparse input; pass a dense array "
                "or a DataFrame (X.toarray())"
            )
        if isinstance(X, pd.Series):
            # X.iloc[i] is one lead's row as a Series; as an array it would be read as a
            # column of values, and fail on its first text cell.
            raise FeatureSchemaError(
                f"X is a pandas Series ({len(X)} values), not a table of leads",
                "give a DataFrame: X.iloc[[i]] (a list inside) for one lead, or "
                "score_row(row) with the row as a mapping",
            )
        if not isinstance(X, pd.DataFrame):
            encoder = self.encoder if reset else self.encoder_
            default_encoder = encoder is None or _is_tabular(encoder)
            if default_encoder:
                # Arrays are numbers for leadlife's encoder; text belongs in DataFrames.
                # inf is let through: the encoder reads it as missing, as in frames.
                X = _numeric_array(X)
            else:
                # Your encoder or pipeline checks values; rows and columns are checked here.
                X = check_array(X, dtype=None, ensure_all_finite=False)
        elif X.shape[0] == 0 and reset:
            raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required")
        refuse_repeated_columns(X)
        refuse_mixed_column_names(X, None if reset else getattr(self, "feature_names_in_", None))
        if reset:
            validate_data(self, X, reset=True, skip_check_array=True)
            return X
        try:
            validate_data(self, X, reset=False, skip_check_array=True)
        except ValueError as error:
            raise self._schema_error(X, error) from error
        return X

    def _check_target(self, y: Any, X: Any) -> NDArray[Any]:
        labels: NDArray[Any] = column_or_1d(
            check_array(y, ensure_2d=False, dtype=None, ensure_all_finite=False), warn=True
        )
        unknown = pd.isna(labels)
        if labels.dtype.kind == "f":
            unknown |= np.isinf(labels)
        if unknown.any():
            # A FeatureSchemaError is a ValueError too, what scikit-learn callers expect.
            raise FeatureSchemaError(
                f"y holds {int(unknown.sum())} missing or infinite label(s) of "
                f"{len(labels)}; every row fitted on needs a known outcome",
                "drop the rows without a label first, e.g. X[y.notna()], y[y.notna()] "
                "(train() leaves them out itself)",
                column="y",
            )
        check_classification_targets(labels)
        n_rows = X.shape[0] if hasattr(X, "shape") else len(X)
        if len(labels) != n_rows:
            raise ValueError(
                f"Found input variables with inconsistent numbers of samples: "
                f"[{n_rows}, {len(labels)}]; give one label per row of X"
            )
        return labels

    def _schema_error(self, X: Any, error: ValueError) -> FeatureSchemaError:
        expected = [str(c) for c in getattr(self, "feature_names_in_", [])]
        given = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else []
        missing = [c for c in expected if c not in given] if given else []
        unexpected = [c for c in given if c not in expected] if expected else []
        if missing or unexpected:
            fix = (
                "give the frame exactly the columns the model was trained on "
                "(model.feature_names_in_), e.g. build it with the same FeatureSpec"
            )
        elif given and expected:
            fix = "put the columns in training order: X[model.feature_names_in_]"
        else:
            fix = f"pass {self.n_features_in_} columns, in the order the model was trained on"
        problem = str(error).rstrip().rstrip(".")
        return FeatureSchemaError(problem, fix, missing=missing, unexpected=unexpected)

    def _proba(self, model_input: Any) -> FloatArray:
        """The estimator's class probabilities; no rows, no probabilities (not an error)."""
        if model_input.shape[0] == 0:
            # scikit-learn estimators refuse zero rows; an empty day's batch is no error.
            return np.empty((0, len(self.classes_)), dtype=np.float64)
        return np.asarray(self._estimator_proba(model_input), dtype=np.float64)

    def _estimator_proba(self, model_input: Any) -> Any:
        """``estimator_.predict_proba``; NaN it takes none of is a schema error (see fit)."""
        try:
            return self.estimator_.predict_proba(model_input)
        except ValueError as error:
            schema = _missing_values_error(
                self.encoder_, self.estimator_, model_input, self._names_out, error
            )
            if schema is None:
                raise
            raise schema from error

    def _encode(self, X: Any) -> Any:
        if isinstance(self.encoder_, str):
            return X
        return self.encoder_.transform(X)

    def _output_names(self, encoder: Any, model_input: Any) -> list[str]:
        """Names of the columns the estimator sees, in its order, for contributions
        and reasons: the encoder's ``get_feature_names_out()`` (a ColumnTransformer
        reorders and expands columns), the input names for ``"passthrough"``, else
        ``<encoder>0``, ``<encoder>1``, ... by position."""
        width = int(model_input.shape[1])
        names: Any = None
        if isinstance(encoder, str):
            names = getattr(self, "feature_names_in_", None)
            if names is None:
                names = [f"x{i}" for i in range(self.n_features_in_)]
        else:
            names = getattr(encoder, "feature_names_out_", None)
            if names is None:
                try:
                    names = encoder.get_feature_names_out()
                except Exception:  # no names out (FunctionTransformer, your own class)
                    names = getattr(model_input, "columns", None)
        if names is None or len(names) != width:
            prefix = type(encoder).__name__.lower()
            names = [f"{prefix}{j}" for j in range(width)]
        return [str(name) for name in names]

    def _input_names(self) -> list[str]:
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            return [f"x{i}" for i in range(self.n_features_in_)]
        return [str(name) for name in names]

    def _sources(self) -> list[int | None]:
        """Per model column, the position of the input column whose value it shows.

        A model column named like an input column (``visits``), or like one behind
        transformer prefixes (``remainder__visits``, ``scaler__visits``), shows that
        input's value; others (``onehotencoder__city_Pune``) show the encoded value.
        """
        cached = self.__dict__.get("_sources_of")
        if cached is not None and cached[0] is self._names_out:
            known: list[int | None] = cached[1]
            return known
        positions = {name: i for i, name in enumerate(self._input_names())}
        sources: list[int | None] = []
        for name in self._names_out:
            source = positions.get(name)
            start = name.find("__")
            while source is None and start >= 0:
                source = positions.get(name[start + 2 :])
                start = name.find("__", start + 2)
            sources.append(source)
        self._sources_of = (self._names_out, sources)  # fit gives new names, so a new entry
        return sources

    def _positive_column(self) -> int:
        if len(self.classes_) < 2:
            raise ModelError(
                f"the model was trained on one class only ({self.classes_[0]!r}); it cannot "
                "tell converting leads apart. Fix: train on leads of both outcomes"
            )
        # Not always the last: [1, 0] from a classifier of your own, [Y, n] sorted.
        return positive_class(self.classes_)

    # -- helpers: live leads ---------------------------------------------------------

    def _lead_row(self, lead: Lead, now: datetime) -> dict[str, Any]:
        spec = self._live_spec()
        row = lead_features(lead, now, spec)
        # A spec gives every row the same columns: check them once per spec.
        if getattr(self, "_spec_checked", None) is not spec:
            self._check_live_columns(spec, list(row))
            self._spec_checked = spec
        return row

    def _live_spec(self) -> Any:
        return self.spec_ if self.spec_ is not None else _default_spec()

    def _check_live_columns(self, spec: Any = None, built: list[str] | None = None) -> None:
        """Refuse, naming them, columns a live lead's row (``spec``'s) and the model
        disagree on; ``built`` is the row's columns (None: ``spec.columns()``)."""
        spec = self._live_spec() if spec is None else spec
        expected = getattr(self, "feature_names_in_", None)
        if expected is None:
            raise FeatureSchemaError(
                "the model was fitted on an array without column names, so a lead's "
                "features cannot be matched to its columns",
                "fit it on the DataFrame from build_features (with the same FeatureSpec)",
            )
        if built is None:
            columns = getattr(spec, "columns", None)
            if columns is None:
                return
            built = [str(name) for name in columns()]
        known = set(built)
        wanted = [str(name) for name in expected]
        if len(built) == len(wanted) and all(name in known for name in wanted):
            return
        missing = [name for name in wanted if name not in known]
        unexpected = [name for name in built if name not in set(wanted)]
        details = []
        if unexpected:
            details.append(
                f"the spec builds {_names(unexpected)}, which the model was not trained on"
            )
        if missing:
            details.append(f"the model reads {_names(missing)}, which the spec does not build")
        raise FeatureSchemaError(
            f"a live lead's features ({type(spec).__name__} with {len(built)} columns) differ "
            f"from the model's {len(wanted)} columns: " + "; ".join(details),
            "train on every column build_features(..., spec=spec) gives (spec.columns()), "
            "dropping none; or, if the model was trained on another spec's frame, give "
            "that spec: ModelScorer(spec=...), fit(X, y, spec=...) or train(..., spec=...)",
            missing=missing,
            unexpected=unexpected,
        )

    def _one_row(self, row: Mapping[str, Any]) -> pd.DataFrame:
        columns = list(self.feature_names_in_)
        return pd.DataFrame([[row[c] for c in columns]], columns=columns)

    def _encoded_row(self, row: Mapping[str, Any]) -> FloatArray:
        """The lead's row as the estimator sees it, 1-D; encoders without
        ``encode_row`` transform a one-row frame."""
        encode_row = getattr(self.encoder_, "encode_row", None)
        if encode_row is not None:
            return np.asarray(encode_row(row), dtype=np.float64)
        encoded = self.encoder_.transform(self._one_row(row))
        if sparse.issparse(encoded):
            encoded = encoded.toarray()
        first: FloatArray = np.asarray(encoded, dtype=np.float64)[0]
        return first

    def _lead_input(self, row: Mapping[str, Any]) -> Any:
        """The lead's row as a one-row input of the estimator."""
        if isinstance(self.encoder_, str):
            return self._one_row(row)
        return self._encoded_row(row)[np.newaxis, :]

    # -- helpers: explanations -------------------------------------------------------

    def _tags_of(self, probability: FloatArray) -> NDArray[Any]:
        high, medium = self.tags
        return np.where(
            probability >= high, TAGS[0], np.where(probability >= medium, TAGS[1], TAGS[2])
        ).astype(object)

    def _reason_texts(self, X: Any, model_input: Any, probability: FloatArray) -> Iterator[str]:
        top = len(self._names_out) if self.top is None else self.top
        raw_columns = self._raw_columns(X, model_input)
        for start in range(0, len(probability), _CHUNK_ROWS):
            stop = min(start + _CHUNK_ROWS, len(probability))
            chunk = _rows(model_input, start, stop)
            compiled = self.compiled_
            if compiled is not None:
                base, parts = compiled.decompose(np.asarray(chunk, dtype=np.float64))
                _, points, _ = _points(
                    compiled, base, parts, probability[start:stop], self._positive_column()
                )
            else:
                _, points, _ = self._occlusion_points(chunk, probability[start:stop])
            order = np.argsort(-np.abs(points), axis=1, kind="stable")[:, :top]
            for offset, ranked in enumerate(order):
                i = start + offset
                texts = []
                for j in ranked:
                    share = points[offset, j]
                    if share == 0.0:
                        break
                    value = raw_columns[j][i] if raw_columns[j] is not None else None
                    texts.append(f"{self._names_out[j]}={_shown(value)} ({share:+.1f})")
                yield "; ".join(texts)

    def _raw_columns(self, X: Any, model_input: Any) -> list[NDArray[Any] | None]:
        """Per model column, the values to show in reasons: the input column it comes
        from, else the encoded column (None when unknown)."""
        encoded: Any = None
        columns: list[NDArray[Any] | None] = []
        for j, source in enumerate(self._sources()):
            if source is not None:
                if isinstance(X, pd.DataFrame):
                    columns.append(X.iloc[:, source].to_numpy(dtype=object))
                else:
                    columns.append(np.asarray(X)[:, source])
                continue
            if encoded is None and not isinstance(self.encoder_, str):
                encoded = model_input.toarray() if sparse.issparse(model_input) else model_input
                encoded = np.asarray(encoded, dtype=object)
            columns.append(encoded[:, j] if encoded is not None else None)
        return columns

    def _occlusion_points(
        self, model_input: Any, probability: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Points per feature: the score minus the score with that feature made typical."""
        reference = self.reference_
        if reference is None:  # pragma: no cover - set at fit whenever nothing is compiled
            raise ModelError("the model keeps no typical values to explain with; refit it")
        n_rows = len(probability)
        n_features = len(reference)
        typical = _substituted(model_input, reference, np.arange(1), np.arange(n_features))
        positive = self._positive_column()
        base = float(self._estimator_proba(typical)[0, positive])
        rows = np.repeat(np.arange(n_rows), n_features)
        columns = np.tile(np.arange(n_features), n_rows)
        occluded = _substituted(model_input, reference, rows, columns, each=True)
        without = np.asarray(self._estimator_proba(occluded))[:, positive]
        points = 100.0 * (probability[:, np.newaxis] - without.reshape(n_rows, n_features))
        baseline = np.full(n_rows, 100.0 * base)
        rest = 100.0 * probability - baseline - points.sum(axis=1)
        return baseline, points, rest

    def _contributions(
        self, baseline: float, points: FloatArray, rest: float, values: list[Any]
    ) -> list[Contribution]:
        top = len(points) if self.top is None else self.top
        order = np.argsort(-np.abs(points), kind="stable")
        named = [j for j in order[:top] if points[j] != 0.0]
        others = [j for j in order[top:] if points[j] != 0.0]
        parts = [Contribution(BASELINE, baseline)]
        parts += [Contribution(self._names_out[j], float(points[j]), values[j]) for j in named]
        if others:
            parts.append(
                Contribution(OTHER_FEATURES, math.fsum(points[j] for j in others), len(others))
            )
        if abs(rest) > 1e-9:
            parts.append(Contribution(INTERACTIONS, rest))
        parts.sort(key=lambda c: abs(c.points), reverse=True)
        return parts


# -- module helpers ------------------------------------------------------------------


@lru_cache(maxsize=1)
def _default_spec() -> Any:
    """The default FeatureSpec, built once (the scorer reads it on every live event)."""
    return FeatureSpec()


def _weight_params(estimator: Any, sample_weight: Any, n_rows: int) -> dict[str, Any]:
    """``fit``'s keyword arguments that hand ``sample_weight`` to ``estimator``."""
    if sample_weight is None:
        return {}
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.ndim == 0:
        weights = np.full(n_rows, float(weights))
    if weights.ndim != 1 or len(weights) != n_rows:
        raise ValueError(
            f"sample_weight.shape == {weights.shape}, expected ({n_rows},); give one "
            "weight per row of X"
        )
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("sample_weight holds negative, NaN or infinite weights; give w >= 0")
    if isinstance(estimator, Pipeline):
        # Every step that takes weights gets them (a scaler's mean is weighted too).
        steps = [
            (step, part)
            for step, part in estimator.steps
            if part not in (None, PASSTHROUGH) and has_fit_parameter(part, "sample_weight")
        ]
        step, last = estimator.steps[-1]
        if steps and steps[-1][0] == step:
            return {f"{key}__sample_weight": weights for key, _ in steps}
        name = type(last).__name__
    elif has_fit_parameter(estimator, "sample_weight"):
        return {"sample_weight": weights}
    else:
        name = type(estimator).__name__
    raise ModelError(
        f"{name}.fit takes no sample_weight, so the weights cannot reach the model. Fix: "
        "give an estimator that takes them (RandomForest, HistGradientBoosting, "
        "LogisticRegression), or fit without sample_weight"
    )


def _missing_values_error(
    encoder: Any, estimator: Any, model_input: Any, names: Sequence[str], error: ValueError
) -> FeatureSchemaError | None:
    """The schema error of an estimator that refused the NaN leadlife's encoder gives
    for a missing value or an unseen category, naming the columns that hold NaN; None
    when that is not what failed (another encoder, an estimator that takes NaN, no NaN).
    """
    if not _is_tabular(encoder) or get_tags(estimator).input_tags.allow_nan:
        return None
    if not isinstance(model_input, np.ndarray) or model_input.dtype.kind != "f":
        return None
    holes = np.flatnonzero(np.isnan(model_input).any(axis=0))
    if holes.size == 0:
        return None
    name = type(estimator).__name__
    reason = str(error).strip().splitlines()[0].rstrip(".") if str(error).strip() else name
    return FeatureSchemaError(
        f"{name} takes no missing values ({reason}), and leadlife's encoder gives NaN for "
        "a missing value or a category never seen in training: "
        f"{_names([names[int(j)] for j in holes])} hold some",
        f"put an imputer in front of it, ModelScorer(estimator=make_pipeline("
        f"SimpleImputer(), {name}())), or use an estimator that takes missing values "
        "(RandomForest, HistGradientBoosting)",
    )


def _numeric_array(X: Any) -> FloatArray:
    """An array input as float64 for leadlife's encoder; text in it is a schema error."""
    try:
        array: FloatArray = check_array(X, dtype=np.float64, ensure_all_finite=False)
    except ValueError as error:
        try:
            text = np.asarray(X).dtype.kind in "OUST"
        except (TypeError, ValueError):  # ragged rows: scikit-learn's error says so
            text = False
        if not text:
            raise
        # A frame's text columns are categories by name; an array has no names to go by.
        raise FeatureSchemaError(
            f"X is an array holding text ({error})",
            "arrays reach the model as numbers: give text columns in a DataFrame with "
            "the model's column names (model.feature_names_in_), e.g. "
            "pandas.DataFrame(X, columns=model.feature_names_in_)",
        ) from error
    return array


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(repr(name) for name in names[:6])
    return shown + (f" and {len(names) - 6} more" if len(names) > 6 else "")


def _tell_categorical_columns(estimator: Any, encoder: Any) -> None:
    """Give a HistGradientBoosting classifier the encoder's categorical mask, unless set."""
    mask = getattr(encoder, "categorical_mask_", None)
    if not isinstance(estimator, HistGradientBoostingClassifier) or mask is None:
        return
    mask = np.asarray(mask, dtype=bool)
    if mask.any() and _is_default(estimator.categorical_features):
        estimator.set_params(categorical_features=mask)


def _is_tabular(encoder: Any) -> bool:
    """Whether ``encoder`` is the default encoder, whose array input is checked numeric."""
    return isinstance(encoder, TabularEncoder)


def _is_default(categorical_features: Any) -> bool:
    return isinstance(categorical_features, str) and categorical_features == "from_dtype"


def _points(
    compiled: CompiledTrees,
    base: FloatArray,
    parts: FloatArray,
    probability: Any,
    positive: int = -1,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Path contributions of the positive class (the ``positive``-th of the classes)
    as score points: baseline, per feature, rest.

    Forests average class fractions, so their contributions are probability already.
    Boosting adds log-odds; the per-feature log-odds are scaled by one factor per row,
    ``(p - p0) / (log-odds - log-odds0)``, so that they add up to the probability
    change while keeping their signs and proportions. For multiclass boosting the
    positive class's log-odds are first taken relative to the other classes (weighted
    by the baseline probabilities); whatever that does not account for is ``rest``.
    """
    probability = np.asarray(probability, dtype=np.float64).reshape(-1)
    n_rows = parts.shape[0]
    if compiled.link == "mean":
        points = 100.0 * parts[:, :, positive]
        baseline = np.full(n_rows, 100.0 * base[positive])
        return baseline, points, np.zeros(n_rows)
    if compiled.link == "sigmoid":
        # Binary boosting's log-odds are those of the second class; the first's are minus.
        sign = 1.0 if positive in (1, -1) else -1.0
        p0 = float(expit(sign * base[0]))
        effect = sign * parts[:, :, 0]
    else:
        shifted = np.exp(base - base.max())
        weights = shifted / shifted.sum()
        p0 = float(weights[positive])
        effect = parts[:, :, positive] - parts @ weights
    change = probability - p0
    total = effect.sum(axis=1)
    scale = np.zeros(n_rows)
    usable = (total != 0.0) & (np.sign(total) == np.sign(change))
    scale[usable] = change[usable] / total[usable]
    points = 100.0 * scale[:, np.newaxis] * effect
    rest = 100.0 * change - points.sum(axis=1)
    return np.full(n_rows, 100.0 * p0), points, rest


def _typical_values(model_input: Any, categorical: Any = None) -> list[Any]:
    """Per column, a value a typical lead has: the median of numbers, else the mode.

    ``categorical`` marks encoded columns that hold category codes (their median
    would be an arbitrary category).
    """
    if isinstance(model_input, pd.DataFrame):
        columns = [model_input.iloc[:, j] for j in range(model_input.shape[1])]
    else:
        array = np.asarray(model_input)
        columns = [pd.Series(array[:, j]) for j in range(array.shape[1])]
    codes = np.zeros(len(columns), dtype=bool) if categorical is None else categorical
    return [_typical(column, bool(code)) for column, code in zip(columns, codes, strict=True)]


def _typical(column: pd.Series, is_code: bool) -> Any:
    present = column.dropna()
    if present.empty:
        return np.nan if column.dtype.kind == "f" else None
    if column.dtype.kind in "iuf" and not is_code:
        return present.quantile(0.5, interpolation="nearest")
    return present.mode().iloc[0]


def _rows(data: Any, start: int, stop: int) -> Any:
    if isinstance(data, pd.DataFrame):
        return data.iloc[start:stop]
    return np.asarray(data)[start:stop]


def _substituted(
    data: Any,
    reference: Sequence[Any],
    rows: NDArray[np.intp],
    columns: NDArray[np.intp],
    *,
    each: bool = False,
) -> Any:
    """Copies of ``data``'s ``rows``; with ``each``, copy k has ``columns[k]`` made typical,
    else the first row has all ``columns`` made typical."""
    if isinstance(data, pd.DataFrame):
        picked = data.iloc[rows].reset_index(drop=True)
        out = {}
        for j, name in enumerate(picked.columns):
            values = picked[name].to_numpy(dtype=object, copy=True)
            values[(columns == j) if each else slice(None)] = reference[j]
            out[name] = pd.Series(values, dtype=data[name].dtype)
        return pd.DataFrame(out)
    array = np.array(np.asarray(data)[rows], dtype=np.float64 if _numeric(data) else object)
    if each:
        array[np.arange(len(rows)), columns] = np.asarray(reference, dtype=object)[columns]
    else:
        array[:, columns] = np.asarray(reference, dtype=object)[columns]
    return array


def _numeric(data: Any) -> bool:
    return bool(np.asarray(data).dtype.kind in "biuf")


def _plain(value: Any) -> Any:
    """A feature value as a person reads it: NaN and None both become None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _shown(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return "missing"
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    return str(value)
