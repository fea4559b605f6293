"""How good a fitted lead-scoring model is on held-out leads: :func:`evaluate`.

The report answers the questions a sales team asks of a score: does it rank converters
first (ROC-AUC, PR-AUC), can its probabilities be taken at face value (Brier score, log
loss, the calibration curve), how many converters does calling the top tenth reach
(lift and cumulative gains by decile), what happens at a chosen cut-off (the confusion
matrix), and which inputs it leans on (permutation importance). It works for any fitted
binary scikit-learn classifier, the library's ``ModelScorer`` or a plain estimator.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.calibration import calibration_curve
from sklearn.inspection import permutation_importance
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    log_loss,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from leadlife.errors import InvalidArgumentError, ModelError
from leadlife.ml.encoding import LABEL_SPELLINGS, TabularEncoder, label_flag, positive_class

__all__ = ["EvaluationReport", "evaluate"]

CALIBRATION_BINS = 10
DECILES = 10
_IMPORTANCE_PLOTTED = 20  # bars on the importance plot; the JSON keeps every feature


@attrs.frozen(eq=False)
class EvaluationReport:
    """A fitted model measured on one set of labelled leads, usually the holdout.

    ``metrics`` holds the single numbers (``roc_auc``, ``pr_auc``, ``brier``,
    ``log_loss``, ``base_rate``, the counts, and ``precision``/``recall``/``f1``/
    ``accuracy`` at ``threshold``); the frames hold the curves and tables. The report
    is a value: build it with :func:`evaluate`, then read it, :meth:`to_dict` it or
    :meth:`write` it.
    """

    metrics: dict[str, float]
    threshold: float
    roc: pd.DataFrame
    """The ROC curve: ``fpr``, ``tpr`` and the ``threshold`` reaching them."""
    precision_recall: pd.DataFrame
    """The precision-recall curve: ``recall``, ``precision``, ``threshold``."""
    calibration: pd.DataFrame
    """Per non-empty probability bin of ten: ``mean_predicted``, ``observed_rate``, ``leads``."""
    deciles: pd.DataFrame
    """Leads ranked by probability in ten equal groups, the best first: ``decile``,
    ``leads``, ``positives``, ``rate``, ``lift``, ``cumulative_gain_pct``,
    ``cumulative_lift`` and ``min_probability`` (the group's lowest probability)."""
    confusion: pd.DataFrame
    """Counts at ``threshold``: index ``actual``, columns ``predicted``, each
    ``negative``/``positive``."""
    importance: pd.DataFrame
    """Permutation importance: ``feature``, ``importance`` (mean drop in ROC-AUC when
    the column is shuffled) and ``std``, most important first; empty when skipped."""

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every table of the report by name, the metrics as a one-column frame first."""
        return {
            "metrics": self.to_frame(),
            "roc": self.roc,
            "precision_recall": self.precision_recall,
            "calibration": self.calibration,
            "deciles": self.deciles,
            "confusion": self.confusion,
            "importance": self.importance,
        }

    def to_frame(self) -> pd.DataFrame:
        """The metrics as a frame: index ``metric``, one column ``value``."""
        frame = pd.DataFrame({"value": pd.Series(self.metrics, dtype=float)})
        frame.index.name = "metric"
        return frame

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON values (NaN becomes ``None``); the curves are left out.

        Holds ``metrics``, ``threshold``, ``confusion`` (``tn``, ``fp``, ``fn``, ``tp``),
        and the ``calibration``, ``deciles`` and ``importance`` tables as lists of rows.
        """
        cells = self.confusion.to_numpy()
        return {
            "metrics": {name: _json_number(value) for name, value in self.metrics.items()},
            "threshold": self.threshold,
            "confusion": {
                "tn": int(cells[0, 0]),
                "fp": int(cells[0, 1]),
                "fn": int(cells[1, 0]),
                "tp": int(cells[1, 1]),
            },
            "calibration": _records(self.calibration),
            "deciles": _records(self.deciles),
            "importance": _records(self.importance),
        }

    def summary(self) -> str:
        """One line with the headline numbers, for logs and the console."""
        m = self.metrics
        return (
            f"{int(m['leads']):,} leads, {m['base_rate']:.1%} positive: "
            f"ROC-AUC {m['roc_auc']:.3f}, PR-AUC {m['pr_auc']:.3f}, Brier {m['brier']:.3f}, "
            f"top-decile lift {m['top_decile_lift']:.2f}; at {self.threshold:g}: "
            f"precision {m['precision']:.3f}, recall {m['recall']:.3f}"
        )

    def write(self, directory: str | Path) -> list[Path]:
        """Write ``report.json`` and the plots as PNG files into ``directory``.

        The plots are ``roc.png``, ``precision_recall.png``, ``calibration.png``,
        ``gains.png`` (cumulative gains and lift by decile) and ``importance.png``.
        They are drawn on :class:`matplotlib.figure.Figure` objects with the Agg
        renderer, so no display is needed and pyplot's global state is left alone.
        Returns the written paths, ``report.json`` first.
        """
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / "report.json"]
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        written[0].write_text(text + "\n", encoding="utf-8")
        plots: list[tuple[str, Callable[[Any], None]]] = [
            ("roc.png", self._plot_roc),
            ("precision_recall.png", self._plot_precision_recall),
            ("calibration.png", self._plot_calibration),
            ("gains.png", self._plot_gains),
            ("importance.png", self._plot_importance),
        ]
        for name, draw in plots:
            written.append(_save_figure(folder / name, draw))
        return written

    # -- plots (each draws on a fresh figure) -------------------------------------------

    def _plot_roc(self, figure: Any) -> None:
        axes = figure.add_subplot()
        axes.plot(self.roc["fpr"], self.roc["tpr"], label=f"AUC {self.metrics['roc_auc']:.3f}")
        axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
        axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve")
        axes.legend(loc="lower right")

    def _plot_precision_recall(self, figure: Any) -> None:
        axes = figure.add_subplot()
        curve = self.precision_recall
        axes.step(curve["recall"], curve["precision"], where="post")
        axes.axhline(self.metrics["base_rate"], linestyle="--", color="grey", label="base rate")
        axes.set(
            xlabel="recall",
            ylabel="precision",
            title=f"Precision-recall (average precision {self.metrics['pr_auc']:.3f})",
            ylim=(0, 1.02),
        )
        axes.legend(loc="upper right")

    def _plot_calibration(self, figure: Any) -> None:
        axes = figure.add_subplot()
        axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
        axes.plot(
            self.calibration["mean_predicted"],
            self.calibration["observed_rate"],
            marker="o",
            label=f"model (Brier {self.metrics['brier']:.3f})",
        )
        axes.set(
            xlabel="mean predicted probability",
            ylabel="observed conversion rate",
            title="Calibration",
            xlim=(-0.02, 1.02),
            ylim=(-0.02, 1.02),
        )
        axes.legend(loc="upper left")

    def _plot_gains(self, figure: Any) -> None:
        gains, lift = figure.subplots(1, 2)
        share = np.concatenate(
            [[0.0], np.cumsum(self.deciles["leads"]) / self.deciles["leads"].sum()]
        )
        captured = np.concatenate([[0.0], self.deciles["cumulative_gain_pct"] / 100])
        gains.plot(share * 100, captured * 100, marker="o", label="model")
        gains.plot([0, 100], [0, 100], linestyle="--", color="grey", label="random")
        gains.set(
            xlabel="% of leads contacted (best first)",
            ylabel="% of positives reached",
            title="Cumulative gains",
        )
        gains.legend(loc="lower right")
        lift.bar(self.deciles["decile"], self.deciles["lift"])
        lift.axhline(1.0, linestyle="--", color="grey")
        lift.set(xlabel="decile (1 = highest scores)", ylabel="lift", title="Lift by decile")
        lift.set_xticks(list(self.deciles["decile"]))
        figure.set_size_inches(11, 4.5)

    def _plot_importance(self, figure: Any) -> None:
        axes = figure.add_subplot()
        top = self.importance.head(_IMPORTANCE_PLOTTED).iloc[::-1]
        if top.empty:
            axes.text(0.5, 0.5, "permutation importance not computed", ha="center")
            axes.set_axis_off()
            return
        axes.barh(top["feature"].astype(str), top["importance"], xerr=top["std"])
        axes.set(xlabel="mean drop in ROC-AUC when shuffled", title="Permutation importance")
        figure.set_size_inches(8, max(3.0, 0.3 * len(top) + 1.2))


def whole_argument(value: object, argument: str, least: int, hint: str) -> int:
    """``value`` as a whole number of at least ``least``, else the argument's error.

    scikit-learn checks these only deep inside a fit or a search, after the work before
    it is done, and names its own parameters, not the caller's.
    """
    if isinstance(value, Integral) and not isinstance(value, bool) and int(value) >= least:
        return int(value)
    raise InvalidArgumentError(
        argument, f"{value!r} is not a whole number of {least} or more", hint
    )


def evaluate(
    model: Any,
    X: Any,
    y: Any,
    *,
    threshold: float = 0.5,
    n_repeats: int = 5,
    random_state: int = 0,
) -> EvaluationReport:
    """Measure a fitted binary classifier on labelled leads ``X``, ``y``.

    The positive class is the one of ``model.classes_`` that reads as 1 (1, ``True``,
    ``"Yes"``, in whatever order the classes are listed), else ``model.classes_[1]``;
    for a model that learned 0/1, ``y`` may also spell its labels as
    :func:`~leadlife.ml.train` reads them (``Yes``/``No``, ``Y``/``N``, ``"1"``/``"0"``).
    ``threshold`` is the probability at and above which a lead counts as predicted
    positive in the confusion matrix. ``n_repeats`` is how many times each column is
    shuffled for permutation importance; 0 skips it (it costs one ``predict_proba``
    per column and repeat). Give the holdout, not the training
    data: importance and every metric measured on training rows flatter the model.

    Raises :class:`~leadlife.errors.ModelError` when the model is not a fitted
    binary classifier, ``y`` holds a value that is not a label (a missing one too)
    or only one class, or ``y`` is not as long as ``X``; and
    :class:`~leadlife.errors.InvalidArgumentError` for a ``threshold`` that is not a
    probability or ``n_repeats`` that are not a whole number of 0 or more.
    """
    if not (isinstance(threshold, Real) and not isinstance(threshold, bool)) or not (
        0.0 <= threshold <= 1.0
    ):
        raise InvalidArgumentError(
            "threshold", f"{threshold!r} is not a probability", "give a number from 0 to 1"
        )
    whole_argument(n_repeats, "n_repeats", 0, "give 0 to skip permutation importance")
    classes = _classes(model)
    positive = positive_class(classes)
    actual = _actual(y, classes)
    if actual.all() or not actual.any():
        only = "positive" if actual.any() else "negative"
        raise ModelError(
            f"every one of the {len(actual)} evaluation labels is {only}, so ROC-AUC and "
            "the other ranking metrics are undefined. Fix: evaluate on a stratified holdout "
            "that holds both converted and unconverted leads"
        )
    probability = np.asarray(model.predict_proba(X), dtype=float)[:, positive]
    if len(probability) != len(actual):
        # scikit-learn's own words would be "inconsistent numbers of samples: [n, m, n]".
        raise ModelError(
            f"X has {len(probability)} rows and y {len(actual)} labels. Fix: give one "
            "label per row of X, the two taken from the same holdout"
        )
    predicted = probability >= threshold
    cells = confusion_matrix(actual, predicted, labels=[False, True])
    tn, fp, fn, tp = (int(value) for value in cells.ravel())
    deciles = decile_table(actual, probability)
    metrics: dict[str, float] = {
        "roc_auc": float(roc_auc_score(actual, probability)),
        "pr_auc": float(average_precision_score(actual, probability)),
        "brier": float(brier_score_loss(actual, probability)),
        "log_loss": float(log_loss(actual, probability, labels=[False, True])),
        "base_rate": float(actual.mean()),
        "leads": len(actual),
        "positives": int(actual.sum()),
        "top_decile_lift": float(deciles["lift"].iloc[0]),
        "threshold": threshold,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn),
        "f1": 2 * tp / (2 * tp + fp + fn),
        "accuracy": (tp + tn) / len(actual),
    }
    labels = pd.Index(["negative", "positive"])
    confusion = pd.DataFrame(
        cells,
        index=labels.rename("actual"),
        columns=labels.rename("predicted"),
    )
    return EvaluationReport(
        metrics=metrics,
        threshold=threshold,
        roc=_roc(actual, probability),
        precision_recall=_precision_recall(actual, probability),
        calibration=_calibration(actual, probability),
        deciles=deciles,
        confusion=confusion,
        importance=_importance(model, X, actual, n_repeats, random_state),
    )


def decile_table(actual: np.ndarray, probability: np.ndarray) -> pd.DataFrame:
    """Leads sorted by probability, best first, cut into ten groups as equal as can be.

    Ties keep the input order (a stable sort), so the table is deterministic. With
    fewer than ten leads there is one group per lead.
    """
    order = np.argsort(-probability, kind="stable")
    groups = np.array_split(order, min(DECILES, len(order)))
    leads = np.array([len(group) for group in groups])
    positives = np.array([int(actual[group].sum()) for group in groups])
    base_rate = actual.mean()
    rate = positives / leads
    cumulative_rate = np.cumsum(positives) / np.cumsum(leads)
    return pd.DataFrame(
        {
            "decile": np.arange(1, len(groups) + 1),
            "leads": leads,
            "positives": positives,
            "rate": rate,
            "lift": rate / base_rate,
            "cumulative_gain_pct": 100 * np.cumsum(positives) / positives.sum(),
            "cumulative_lift": cumulative_rate / base_rate,
            "min_probability": [float(probability[group].min()) for group in groups],
        }
    )


def _classes(model: Any) -> list[Any]:
    classes = getattr(model, "classes_", None)
    if classes is None or not hasattr(model, "predict_proba"):
        raise ModelError(
            f"{type(model).__name__} is not a fitted classifier with predict_proba. "
            "Fix: fit it first (leadlife.ml.train does), or pass a probabilistic classifier"
        )
    if len(classes) != 2:
        raise ModelError(
            f"{type(model).__name__} knows {len(classes)} classes {list(classes)!r}; "
            "evaluation needs a binary one. Fix: train on a 0/1 conversion label"
        )
    known: list[Any] = np.asarray(classes, dtype=object).tolist()
    return known


def _actual(y: Any, classes: list[Any]) -> NDArray[np.bool_]:
    """Whether each lead converted: its label is the positive class (``positive_class``).

    Labels that are not the model's classes, for a model that learned 0/1, are read
    as :func:`~leadlife.ml.train` reads a label (``"Yes"``/``"No"``, ``"Y"``/``"N"``,
    ``"1"``/``"0"``): compared as they are, every one would count as negative.
    """
    values = np.asarray(y)
    cells = pd.Series(values.ravel(), dtype=object)
    if cells.isin(classes).all():
        actual: NDArray[np.bool_] = values == classes[positive_class(classes)]
        return actual
    distinct = pd.Series(pd.unique(cells), dtype=object)
    unknown = distinct[~distinct.isin(classes)].tolist()
    shown = ", ".join(repr(cell) for cell in unknown[:6])
    if set(classes) == {0, 1}:
        flags = {cell: label_flag(cell) for cell in distinct.tolist()}
        if None not in flags.values():
            read: NDArray[np.bool_] = (cells.map(flags) == 1).to_numpy().reshape(values.shape)
            return read
        raise ModelError(
            f"y holds {shown}; evaluation needs a binary label with no missing values, "
            f"spelled {LABEL_SPELLINGS}. Fix: map it to 1 (converted) and 0 (not converted) "
            "and drop the leads without a label"
        )
    raise ModelError(
        f"y holds {shown}, which are not the model's classes {classes!r}. Fix: give the "
        "labels spelled as the model was trained on them"
    )


def _roc(actual: np.ndarray, probability: np.ndarray) -> pd.DataFrame:
    fpr, tpr, thresholds = roc_curve(actual, probability)
    return pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": thresholds})


def _precision_recall(actual: np.ndarray, probability: np.ndarray) -> pd.DataFrame:
    precision, recall, thresholds = precision_recall_curve(actual, probability)
    # The curve's last point (recall 0, precision 1) has no threshold of its own.
    padded = np.append(thresholds, np.nan)
    return pd.DataFrame({"recall": recall, "precision": precision, "threshold": padded})


def _calibration(actual: np.ndarray, probability: np.ndarray) -> pd.DataFrame:
    observed, predicted = calibration_curve(actual, probability, n_bins=CALIBRATION_BINS)
    # The same uniform bins calibration_curve uses, to tell how many leads each point holds.
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], probability), minlength=CALIBRATION_BINS)
    filled = np.flatnonzero(counts)
    return pd.DataFrame(
        {
            "bin": filled + 1,
            "mean_predicted": predicted,
            "observed_rate": observed,
            "leads": counts[filled],
        }
    )


def _importance(
    model: Any, X: Any, actual: np.ndarray, n_repeats: int, random_state: int
) -> pd.DataFrame:
    if n_repeats == 0:
        return pd.DataFrame(
            {
                "feature": pd.Series(dtype=object),
                "importance": pd.Series(dtype=float),
                "std": pd.Series(dtype=float),
            }
        )
    names = _feature_names(model, X)
    inner, data = model, X
    encoder = getattr(model, "encoder_", None)
    if isinstance(encoder, TabularEncoder) and isinstance(X, pd.DataFrame):
        # The encoder maps each column on its own, so shuffling a raw column and then
        # encoding equals shuffling its encoded column: encode once, not per shuffle.
        inner, data = model.estimator_, encoder.transform(X)
    result = permutation_importance(
        inner,
        data,
        actual,
        scoring=_roc_auc_scorer,
        n_repeats=n_repeats,
        random_state=random_state,
        n_jobs=1,
    )
    frame = pd.DataFrame(
        {
            "feature": names,
            "importance": result.importances_mean,
            "std": result.importances_std,
        }
    )
    return frame.sort_values("importance", ascending=False, kind="stable", ignore_index=True)


def _roc_auc_scorer(model: Any, X: Any, actual: np.ndarray) -> float:
    positive = positive_class(model.classes_)
    return float(roc_auc_score(actual, np.asarray(model.predict_proba(X))[:, positive]))


def _feature_names(model: Any, X: Any) -> list[str]:
    if isinstance(X, pd.DataFrame):
        return [str(column) for column in X.columns]
    names: Sequence[Any] | None = getattr(model, "feature_names_in_", None)
    if names is not None:
        return [str(name) for name in names]
    return [f"x{position}" for position in range(np.shape(X)[1])]


def _json_number(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(key): _json_number(value) for key, value in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def _save_figure(path: Path, draw: Callable[[Any], None]) -> Path:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.8), layout="constrained")
    draw(figure)
    # Figure.savefig renders PNG with Agg without touching pyplot or the global backend.
    figure.savefig(path, format="png", dpi=100)
    return path
