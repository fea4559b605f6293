"""A learned lead score, end to end: event log → features → model → engine.

A data scientist's view. The script

1. generates a seeded synthetic event log (the demo world: browsing, forms, sales
   conversations, deals) and splits time at a cut-off;
2. builds one feature row per lead from the events *before* the cut-off
   (``build_features``: nothing after it can leak in) and labels each lead by whether
   it bought *after* it;
3. trains a HistGradientBoosting model on a stratified 90/10 split (``train``), prints
   the holdout report, saves the model with its checked sidecar and loads it back;
4. runs an engine whose Cold / Warm / Hot bands follow the model
   (``bands.scorer = "model"``), scores live leads event by event, and shows the top
   leads with the features behind their scores.

    python examples/lead_model.py [output-directory]

With an output directory the model, its sidecar and the report's plots stay there.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import leadlife
from leadlife.demo import World, generate_events
from leadlife.ml import ModelScoring, build_features, load_model, save_model, train


def main(out: Path) -> None:
    world = World(leads=6_000, days=120, seed=11)
    events = generate_events(world)
    cut = world.start + timedelta(days=80)
    won_after = {
        e["lead_id"]
        for e in events
        if e["type"] == "deal_won" and datetime.fromisoformat(e["at"]) >= cut
    }
    features = build_features(events, as_of=cut)
    frame = features.assign(converted=features.index.isin(won_after).astype(int))
    print(
        f"{len(events):,} events; {len(frame):,} leads seen before {cut:%Y-%m-%d}, "
        f"{frame['converted'].sum():,} of them bought after it; "
        f"{features.shape[1]} features per lead"
    )

    result = train(frame, "converted", estimator="hist_gradient_boosting", min_positives=50)
    metrics = result.report.metrics
    print(
        f"holdout ({len(result.y_test):,} leads): ROC-AUC {metrics['roc_auc']:.3f}, "
        f"PR-AUC {metrics['pr_auc']:.3f}, Brier {metrics['brier']:.3f}"
    )
    written = result.report.write(out / "report")
    print(f"report: {', '.join(p.name for p in written)}")

    saved = save_model(result.model, out / "lead-scorer", report=result.report)
    model = load_model(out / "lead-scorer")  # the newest version, checked before unpickling
    print(f"saved {saved.name} and loaded it back ({type(model.estimator_).__name__})")

    engine = leadlife.Engine(
        {"extends": "default", "bands": {"scorer": "model", "warm": 20, "hot": 50}},
        plugins=[ModelScoring(model)],
    )
    report = engine.ingest_many(events)
    print(f"engine: {report.accepted:,} events accepted, {len(report.rejected)} rejected")
    open_leads = [lead for lead in engine.storage.leads() if lead.is_open]
    top = sorted(open_leads, key=lambda lead: lead.scores["model"], reverse=True)[:3]
    for lead in top:
        why = engine.explain(lead.id, "model")
        reasons = ", ".join(
            f"{c.rule} {c.points:+.1f}" for c in why.contributions if c.rule != "baseline"
        )
        print(f"{lead.id}  {lead.stage.value:<5} score {why.value:5.1f}  {reasons}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as directory:
            main(Path(directory))
