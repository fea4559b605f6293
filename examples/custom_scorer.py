"""Plugging a learned scorer into leadlife: a scikit-learn model drives Cold / Warm / Hot.

A data scientist's view. The script generates a synthetic history of leads (behaviour
counts and whether they bought), fits a ``LogisticRegression`` on 90% of it, checks it
on the held-out 10%, wraps the fitted model in a class answering leadlife's ``Scorer``
protocol, registers it with the ``leadlife_register_scorers`` hook, and points the
rulebook's ``bands.scorer`` at it.

    python examples/custom_scorer.py
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

import leadlife
from leadlife import Lead
from leadlife.scoring import Contribution, Scorer, ScoreResult

FEATURES = (
    "visits_30d",
    "downloads_30d",
    "searches_30d",
    "events_attended",
    "chats",
    "has_contact",
    "target_industry",
)
TARGET_INDUSTRIES = frozenset({"advertising", "media"})
POINTS_PER_LOGIT = 10.0


def features(lead: Lead, now: datetime) -> np.ndarray:
    """One row of the model's features, computed from what leadlife keeps per lead."""
    b = lead.behaviour
    events_attended = sum(
        b.total(kind)
        for kind in ("webinar_registered", "livestream_watched", "offline_event_attended")
    )
    has_contact = bool(lead.profile.get("phone_valid") or lead.profile.get("email_valid"))
    return np.array(
        [
            b.count("page_view", 30, now),
            b.count("download", 30, now),
            b.count("search", 30, now),
            events_attended,
            b.total("chat_started"),
            float(has_contact),
            float(lead.profile.get("industry") in TARGET_INDUSTRIES),
        ],
        dtype=float,
    )


def synthetic_history(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Past leads: feature rows and whether each bought, from a hidden propensity."""
    rng = np.random.default_rng(seed)
    intent = rng.beta(1.2, 3.0, size=n)
    x = np.column_stack(
        [
            rng.poisson(1 + 12 * intent),
            rng.poisson(4 * intent),
            rng.poisson(3 * intent),
            rng.poisson(1.5 * intent),
            rng.poisson(1.0 * intent),
            rng.random(n) < 0.2 + 0.6 * intent,
            rng.random(n) < 0.35,
        ]
    ).astype(float)
    true_logit = -3.6 + x @ np.array([0.05, 0.45, 0.15, 0.9, 1.1, 1.4, 0.6])
    bought = (rng.random(n) < 1 / (1 + np.exp(-true_logit))).astype(int)
    return x, bought


class LogisticScorer:
    """Answers leadlife's ``Scorer`` protocol with a fitted binary classifier.

    The score is the model's log-odds of a purchase in points (``points_per_logit``
    per unit), so a linear model explains itself exactly: the intercept plus
    ``coef * value`` for each feature add up to the score.
    """

    def __init__(
        self,
        model: LogisticRegression,
        feature_fn: Callable[[Lead, datetime], np.ndarray],
        *,
        name: str = "purchase-model",
        points_per_logit: float = POINTS_PER_LOGIT,
    ):
        check_is_fitted(model)
        self.model = model
        self.feature_fn = feature_fn
        self.name = name
        self.points_per_logit = points_per_logit

    def score(self, lead: Lead, now: datetime) -> float:
        row = self.feature_fn(lead, now).reshape(1, -1)
        return float(self.model.decision_function(row)[0]) * self.points_per_logit

    def probability(self, lead: Lead, now: datetime) -> float:
        """P(purchase), the column of class 1 in ``predict_proba``."""
        row = self.feature_fn(lead, now).reshape(1, -1)
        column = list(self.model.classes_).index(1)
        return float(self.model.predict_proba(row)[0, column])

    def explain(self, lead: Lead, now: datetime) -> ScoreResult:
        k = self.points_per_logit
        values = self.feature_fn(lead, now)
        parts = [Contribution("intercept", k * float(self.model.intercept_[0]))]
        parts += [
            Contribution(f"feature {name}", k * float(weight) * float(value), float(value))
            for name, weight, value in zip(FEATURES, self.model.coef_[0], values, strict=True)
            if value
        ]
        parts.sort(key=lambda c: abs(c.points), reverse=True)
        return ScoreResult(self.name, sum(c.points for c in parts), tuple(parts))


def points(probability: float) -> float:
    """The score of a given purchase probability: log-odds in points."""
    return POINTS_PER_LOGIT * math.log(probability / (1 - probability))


class PurchaseModelPlugin:
    """Registers the fitted model as a scorer."""

    def __init__(self, scorer: LogisticScorer):
        self.scorer = scorer

    @leadlife.hookimpl
    def leadlife_register_scorers(self, register: Callable[[Scorer], None]) -> None:
        register(self.scorer)


T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def journeys() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """A few new leads and what they did over a fortnight."""
    return {
        "browser": [("page_view", {"page": "blog"})],
        "researcher": [
            *[("page_view", {"page": "product"})] * 6,
            *[("search", {"keyword": "media report"})] * 3,
            *[("download", {"asset_id": f"r{i}"}) for i in range(5)],
        ],
        "event-goer": [
            ("page_view", {"page": "pricing"}),
            ("webinar_registered", {"event_id": "web-9"}),
            ("livestream_watched", {"event_id": "live-1"}),
            ("offline_event_attended", {"event_id": "expo"}),
            ("chat_started", {"channel": "wecom"}),
        ],
        "buyer": [
            ("page_view", {"page": "pricing"}),
            (
                "form_submit",
                {"phone": "+8613800138000", "asset_id": "api-pro", "industry": "advertising"},
            ),
        ],
    }


def main() -> None:
    x, bought = synthetic_history(n=4000, seed=7)
    x_train, x_test, y_train, y_test = train_test_split(
        x, bought, test_size=0.1, random_state=7, stratify=bought
    )
    model = LogisticRegression(max_iter=1000).fit(x_train, y_train)
    proba = model.predict_proba(x_test)[:, list(model.classes_).index(1)]
    print(
        f"trained on {len(y_train)} past leads ({y_train.mean():.0%} bought); held-out "
        f"{len(y_test)}: accuracy {accuracy_score(y_test, model.predict(x_test)):.2f}, "
        f"ROC AUC {roc_auc_score(y_test, proba):.2f}"
    )

    scorer = LogisticScorer(model, features)
    assert isinstance(scorer, Scorer)
    warm, hot = points(0.20), points(0.50)
    rulebook = leadlife.Rulebook.from_toml(
        f"""
        extends = "default"

        [bands]
        scorer = "purchase-model"   # the registered name of the model scorer
        warm = {warm:.2f}           # P(purchase) >= 20%
        hot = {hot:.2f}             # P(purchase) >= 50%
        """,
        source="model-bands.toml",
    )
    engine = leadlife.Engine(
        rulebook=rulebook,
        plugins=[PurchaseModelPlugin(scorer)],
        clock=leadlife.FixedClock(T0),
    )

    print(f"bands on the model's score: Warm from {warm:.1f} points, Hot from {hot:.1f}")
    print(f"{'lead':<11}{'stage':<6}{'P(buy)':>7}{'score':>8}  strongest signal")
    for lead_id, steps in journeys().items():
        lead = None
        for number, (kind, data) in enumerate(steps):
            at = T0 + timedelta(hours=8 * number)
            lead = engine.ingest(
                {
                    "id": f"{lead_id}-{number}",
                    "lead_id": lead_id,
                    "type": kind,
                    "at": at,
                    "data": data,
                }
            )
        assert lead is not None
        assert lead.last_event_at is not None
        now = lead.last_event_at
        why = engine.explain(lead_id)
        top = next(c for c in why.contributions if c.rule != "intercept")
        print(
            f"{lead_id:<11}{lead.stage.name:<6}{scorer.probability(lead, now):>7.0%}"
            f"{lead.score:>8.1f}  {top.rule} ({top.points:+.1f})"
        )
        assert math.isclose(why.value, lead.score, abs_tol=1e-6)
        assert set(lead.scores) == {"purchase-model", "points", "rules"}


if __name__ == "__main__":
    main()
