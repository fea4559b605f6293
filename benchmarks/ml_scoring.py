"""Machine-learning scoring: leadlife's model scorer beside plain scikit-learn.

Part 1, batch: 1M synthetic leads x 30 features (24 numeric, 6 categorical strings;
seeded numpy, a label from a noisy non-linear function of them). For RandomForest and
HistGradientBoosting, with the library's defaults (``make_estimator``):

- plain scikit-learn: the same estimator, same parameters, fitted on the frame
  pre-encoded to a float matrix (categories as codes; encoding untimed): the floor;
- leadlife: ``ModelScorer`` fitted on the frame itself (its encoder included).

Reported side by side: training time, batch scoring rows/s (``predict_proba`` vs
``score_frame`` without reasons), single-lead latency (p50 of one-row
``predict_proba`` vs the scorer's compiled per-lead path), model size on disk
(``joblib.dump`` vs ``save_model``, both zlib level 3) and holdout ROC-AUC. The
library's overhead is its time over the plain time. With
``LEADLIFE_BENCH_UNCONSTRAINED=1`` an unconstrained ``RandomForestClassifier(100)`` is
fitted too, for reference (size and AUC).

Part 2, live: an engine with the model registered by ``ModelScoring`` ingests
events; the time inside the model's ``score(lead, now)`` is taken per event
(``perf_counter_ns``), reported as p50/p90 per estimator.
"""

from __future__ import annotations

import gc
import io
import os
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

import leadlife
from leadlife.ml.estimators import make_estimator
from leadlife.ml.features import FeatureSpec, build_features
from leadlife.ml.persistence import save_model
from leadlife.ml.plugin import ModelScoring
from leadlife.ml.scorer import ModelScorer

from ._events import generate
from ._harness import best_of, fmt_bytes, fmt_rate, print_table, section, target

__all__ = ["make_leads", "run"]

KINDS = ("random_forest", "hist_gradient_boosting")
TARGET_OVERHEAD = 1.2
# Both sides get the same estimator and thread budget: forests fit on every core
# (n_jobs), boosting's OpenMP threads use them by themselves.
N_JOBS = os.cpu_count() or 1
TARGET_LIVE_P50_S = 1e-3
TARGET_RF_BYTES = 100 * 1024 * 1024
_CATEGORIES = {
    "industry": 12,
    "city": 40,
    "first_channel": 8,
    "last_channel": 8,
    "title": 15,
    "source": 20,
}


def make_leads(n: int, seed: int = 20261123) -> tuple[pd.DataFrame, np.ndarray]:
    """``n`` leads x 30 features and a 0/1 label, vectorized and seeded.

    24 numeric columns (window counts, recency, firmographics; ~10% missing in the
    firmographics) and 6 categorical string columns (5% missing). The label's
    log-odds mix a few counts, a recency decay, an interaction and per-category
    effects, plus noise, so a good model reaches an AUC near 0.75, not 1.
    """
    rng = np.random.default_rng(seed)
    interest = rng.beta(1.3, 3.0, n)
    data: dict[str, Any] = {}
    logit = np.full(n, -2.2)
    for k in range(16):
        rate = 0.2 + 3.0 * interest * (1 + k % 4) / 4
        counts = rng.poisson(rate).astype(np.float64)
        data[f"n.kind{k}"] = counts
        if k < 5:
            logit += 0.35 * np.log1p(counts) * (1 if k % 2 == 0 else 0.5)
    recency = rng.exponential(30.0, n)
    data["days_since_last_activity"] = recency
    data["days_since_first_seen"] = recency + rng.exponential(90.0, n)
    logit += 1.2 * np.exp(-recency / 14.0)
    employees = np.round(rng.lognormal(np.log(60), 1.4, n))
    capital = np.round(rng.lognormal(np.log(8e5), 1.8, n), -3)
    logit += 0.25 * (np.log10(np.maximum(employees, 1.0)) - 1.8)
    for name, values in (("employees", employees), ("registered_capital", capital)):
        values = values.copy()
        values[rng.random(n) < 0.1] = np.nan
        data[name] = values
    data["pages_per_visit"] = rng.gamma(2.0, 1.0 + interest)
    data["minutes_on_site"] = rng.gamma(1.5, 4.0 + 20 * interest)
    logit += 0.6 * (data["minutes_on_site"] > 15) * (data["n.kind0"] > 1)
    data["email_valid"] = (rng.random(n) < 0.7).astype(np.float64)
    data["phone_valid"] = (rng.random(n) < 0.5).astype(np.float64)
    logit += 0.4 * data["phone_valid"]
    for name, size in _CATEGORIES.items():
        codes = rng.integers(0, size, n)
        effect = rng.normal(0.0, 0.35, size)
        logit += effect[codes]
        labels = np.array([f"{name}-{k}" for k in range(size)], dtype=object)[codes]
        labels[rng.random(n) < 0.05] = None
        data[name] = labels
    logit += rng.normal(0.0, 1.0, n)
    label = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    return pd.DataFrame(data), label


def _pre_encode(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The plain baseline's input: floats, categories as codes (NaN missing), and the mask."""
    columns = []
    mask = []
    for name in frame.columns:
        column = frame[name]
        if not pd.api.types.is_numeric_dtype(column):
            codes = pd.Categorical(column).codes.astype(np.float64)
            codes[codes < 0] = np.nan
            columns.append(codes)
            mask.append(True)
        else:
            columns.append(column.to_numpy(dtype=np.float64))
            mask.append(False)
    return np.column_stack(columns), np.array(mask)


def _p50_latency(call: Callable[[int], object], rows: int) -> tuple[float, float]:
    """p50 and p90 seconds of ``call(i)`` over ``rows`` calls, one row each."""
    times = np.empty(rows)
    for i in range(rows):
        started = time.perf_counter_ns()
        call(i)
        times[i] = time.perf_counter_ns() - started
    return float(np.percentile(times, 50)) / 1e9, float(np.percentile(times, 90)) / 1e9


def _dump_size(obj: object) -> int:
    buffer = io.BytesIO()
    joblib.dump(obj, buffer, compress=3)
    return buffer.getbuffer().nbytes


def _batch_part(quick: bool) -> dict[str, Any]:
    rows = 100_000 if quick else 1_000_000
    started = time.perf_counter()
    frame, label = make_leads(rows)
    train_rows, test_rows_at = train_test_split(
        np.arange(rows), test_size=0.1, stratify=label, random_state=0
    )
    train_x, test_x = frame.iloc[train_rows], frame.iloc[test_rows_at]
    train_y, test_y = label[train_rows], label[test_rows_at]
    encoded, mask = _pre_encode(frame)  # one category table for both parts
    plain_train, plain_test = encoded[train_rows], encoded[test_rows_at]
    del encoded
    print(
        f"frame: {rows:,} leads x {frame.shape[1]} features ({int((~mask).sum())} numeric, "
        f"{int(mask.sum())} categorical strings), positives {label.mean():.1%}; 90/10 "
        f"stratified holdout; generated and pre-encoded in "
        f"{time.perf_counter() - started:.1f} s (untimed)"
    )
    latency_rows = 200 if quick else 1_000
    results: dict[str, Any] = {"leads": rows, "features": frame.shape[1]}
    table = []
    for kind in KINDS:
        plain = make_estimator(kind, **({"n_jobs": N_JOBS} if kind == "random_forest" else {}))
        if kind == "hist_gradient_boosting":
            plain.set_params(categorical_features=mask)
        plain_fit = best_of(lambda plain=plain: plain.fit(plain_train, train_y), repeats=1)
        scorer = ModelScorer(estimator=clone(plain))
        ours_fit = best_of(lambda scorer=scorer: scorer.fit(train_x, train_y), repeats=1)

        plain_proba = plain.predict_proba(plain_test)[:, 1]
        ours_frame = scorer.score_frame(test_x, reasons=False)
        same = bool(np.allclose(plain_proba, ours_frame["probability"].to_numpy(), atol=1e-9))
        plain_batch = best_of(lambda plain=plain: plain.predict_proba(plain_test), repeats=2)
        ours_batch = best_of(
            lambda scorer=scorer: scorer.score_frame(test_x, reasons=False), repeats=2
        )

        records = test_x.iloc[:latency_rows].to_dict("records")
        plain_rows = plain_test[:latency_rows]
        plain_p50, plain_p90 = _p50_latency(
            lambda i, plain=plain, rows=plain_rows: plain.predict_proba(rows[i : i + 1]),
            latency_rows,
        )
        ours_p50, ours_p90 = _p50_latency(
            lambda i, scorer=scorer, records=records: scorer.score_row(records[i]), latency_rows
        )
        row_same = all(
            abs(scorer.score_row(records[i]) / 100.0 - plain_proba[i]) <= 1e-5
            for i in range(latency_rows)
        )

        plain_bytes = _dump_size(plain)
        with tempfile.TemporaryDirectory() as directory:
            saved = save_model(scorer, Path(directory) / "model")
            ours_bytes = saved.stat().st_size
        auc_plain = float(roc_auc_score(test_y, plain_proba))
        auc_ours = float(roc_auc_score(test_y, ours_frame["probability"]))
        test_rows = len(test_x)
        result = {
            "fit_s": {"plain": plain_fit.best, "leadlife": ours_fit.best},
            "fit_overhead": ours_fit.best / plain_fit.best,
            "batch_rows_per_s": {
                "plain": test_rows / plain_batch.best,
                "leadlife": test_rows / ours_batch.best,
            },
            "batch_overhead": ours_batch.best / plain_batch.best,
            "single_row_s": {
                "plain_p50": plain_p50,
                "plain_p90": plain_p90,
                "leadlife_p50": ours_p50,
                "leadlife_p90": ours_p90,
            },
            "bytes": {"plain": plain_bytes, "leadlife": ours_bytes},
            "auc": {"plain": auc_plain, "leadlife": auc_ours},
            "same_probabilities": same,
            "per_lead_path_equals_sklearn": row_same,
            "params": {
                k: v for k, v in plain.get_params().items() if isinstance(v, int | float | str)
            },
        }
        results[kind] = result
        for who, fit, batch, p50, size, auc in (
            ("plain", plain_fit, plain_batch, plain_p50, plain_bytes, auc_plain),
            ("leadlife", ours_fit, ours_batch, ours_p50, ours_bytes, auc_ours),
        ):
            table.append(
                [
                    f"{kind}, {who}",
                    f"{fit.best:.1f}",
                    fmt_rate(test_rows / batch.best),
                    f"{p50 * 1e3:.3f}",
                    fmt_bytes(size),
                    f"{auc:.4f}",
                ]
            )
        del plain, scorer
        gc.collect()
    print_table(
        f"{rows:,} leads: training on 90%, scoring the 10% holdout (single lead: p50 of "
        f"{latency_rows:,} one-row calls)",
        ["model", "fit (s)", "batch rows/s", "one lead (ms)", "size on disk", "AUC"],
        table,
    )
    for kind in KINDS:
        r = results[kind]
        print(
            f"{kind}: leadlife/plain time — fit {r['fit_overhead']:.2f}x, batch "
            f"{r['batch_overhead']:.2f}x; same probabilities as plain: "
            f"{'yes' if r['same_probabilities'] else 'NO'}; per-lead path within 1e-5 of "
            f"sklearn: {'yes' if r['per_lead_path_equals_sklearn'] else 'NO'}"
        )

    if not quick and os.environ.get("LEADLIFE_BENCH_UNCONSTRAINED") == "1":
        # ~11 min at 1M rows on a 2-core machine and ~2.8 GB pickled: opt-in.
        reference = RandomForestClassifier(n_estimators=100, n_jobs=N_JOBS, random_state=0)
        fit = best_of(lambda: reference.fit(plain_train, train_y), repeats=1)
        auc = float(roc_auc_score(test_y, reference.predict_proba(plain_test)[:, 1]))
        size = _dump_size(reference)
        results["unconstrained_random_forest"] = {"fit_s": fit.best, "bytes": size, "auc": auc}
        print(
            f"reference, unconstrained RandomForestClassifier(100): fit {fit.best:.0f} s, "
            f"{fmt_bytes(size)} on disk (zlib 3), AUC {auc:.4f}"
        )
        del reference
        gc.collect()
    return results


def _live_part(quick: bool) -> dict[str, Any]:
    leads = 2_000 if quick else 10_000
    events = generate(leads)
    train_events, live_events = events[: len(events) // 2], events[len(events) // 2 :]
    spec = FeatureSpec()
    as_of = max(leadlife.Event.model_validate(e).at for e in train_events) + timedelta(seconds=1)
    features = build_features(train_events, as_of=as_of, spec=spec)
    # A stand-in label (these leads have no outcome yet): engaged leads "convert".
    rng = np.random.default_rng(7)
    engaged = features["n.events"].to_numpy() + rng.normal(0, 2, len(features))
    label = (engaged > np.median(engaged)).astype(np.int64)
    print(
        f"\nlive: {len(features):,} leads' features from {len(train_events):,} events "
        f"(as of {as_of:%Y-%m-%d}), {len(spec.columns())} columns; then "
        f"{len(live_events):,} more events through an engine scoring with the model"
    )
    results: dict[str, Any] = {"events": len(live_events), "leads": leads}
    rows = []
    for kind in KINDS:
        scorer = ModelScorer(estimator=kind).fit(features, label, spec=spec)
        timings: list[int] = []
        score = scorer.score

        def timed(
            lead: leadlife.Lead, now: Any, score: Any = score, timings: list[int] = timings
        ) -> float:
            started = time.perf_counter_ns()
            value = float(score(lead, now))
            timings.append(time.perf_counter_ns() - started)
            return value

        scorer.score = timed  # type: ignore[method-assign]  # a stopwatch around each call
        plugin = ModelScoring(scorer)
        engine = leadlife.Engine(plugins=[plugin])
        for raw in train_events:
            engine.ingest(raw)
        timings.clear()
        started = time.perf_counter()
        report = engine.ingest_many(live_events)
        wall = time.perf_counter() - started
        times = np.array(timings) / 1e9
        p50, p90 = float(np.percentile(times, 50)), float(np.percentile(times, 90))
        results[kind] = {
            "p50_s": p50,
            "p90_s": p90,
            "calls": len(timings),
            "accepted": report.accepted,
            "engine_us_per_event": wall / len(live_events) * 1e6,
        }
        rows.append(
            [
                kind,
                f"{len(timings):,}",
                f"{p50 * 1e6:.0f}",
                f"{p90 * 1e6:.0f}",
                f"{wall / len(live_events) * 1e6:.0f}",
            ]
        )
    print_table(
        "model scoring inside the engine, per event",
        ["estimator", "calls", "p50 (µs)", "p90 (µs)", "whole engine (µs/event)"],
        rows,
    )
    return results


def run(quick: bool = False) -> dict[str, Any]:
    """Run both parts; print the tables and the targets; return the results."""
    section("Machine-learning scoring: leadlife's ModelScorer beside plain scikit-learn")
    batch = _batch_part(quick)
    live = _live_part(quick)
    targets = []
    worst = max(max(batch[kind]["fit_overhead"], batch[kind]["batch_overhead"]) for kind in KINDS)
    targets.append(
        target(
            f"library overhead over scikit-learn under {TARGET_OVERHEAD - 1:.0%}",
            worst < TARGET_OVERHEAD,
            f"worst {worst:.2f}x (fit and batch scoring, both estimators)",
        )
    )
    rf_bytes = batch["random_forest"]["bytes"]["leadlife"]
    targets.append(
        target(
            f"RandomForest model under {fmt_bytes(TARGET_RF_BYTES)} at {batch['leads']:,} rows",
            rf_bytes < TARGET_RF_BYTES,
            fmt_bytes(rf_bytes),
        )
    )
    reference = batch.get("unconstrained_random_forest")
    if reference is not None:
        ours = batch["random_forest"]["auc"]["leadlife"]
        targets.append(
            target(
                "RandomForest defaults' AUC no worse than an unconstrained forest",
                ours >= reference["auc"],
                f"{ours:.4f} vs {reference['auc']:.4f}",
            )
        )
    slowest = max(live[kind]["p50_s"] for kind in KINDS)
    targets.append(
        target(
            "live model scoring in the engine under 1 ms per event at p50",
            slowest < TARGET_LIVE_P50_S,
            f"slowest p50 {slowest * 1e6:.0f} µs",
        )
    )
    return {"batch": batch, "live": live, "targets": targets}
