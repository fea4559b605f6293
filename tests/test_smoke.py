"""The README's first example works as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import leadlife

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_block_runs_as_written() -> None:
    """Regression: the README's example used ``now`` without defining it."""
    block = re.search(r"```python\n(.*?)```", README.read_text("utf-8"), re.S)
    assert block is not None
    names: dict[str, object] = {}
    exec(compile(block.group(1), str(README), "exec"), names)
    lead = names["lead"]
    assert isinstance(lead, leadlife.Lead)
    assert lead.stage is leadlife.Stage.MQL
    engine = names["engine"]
    assert isinstance(engine, leadlife.Engine)
    assert engine.get("u42").asleep_since is not None  # the tick 100 days on flagged it


def test_readme_example(engine: leadlife.Engine) -> None:
    """A form with a valid phone and an asset id makes a new lead an MQL."""
    lead = engine.ingest(
        {
            "id": "e1",
            "lead_id": "u42",
            "type": "form_submit",
            "at": "2026-11-02T09:00:00+08:00",
            "data": {"phone": "+8613800138000", "asset_id": "p123"},
        }
    )
    assert lead.stage is leadlife.Stage.MQL
    assert [(c.from_stage, c.to_stage) for c in lead.history] == [
        (leadlife.Stage.COLD, leadlife.Stage.MQL)
    ]
    assert engine.get("u42").same_state(lead)


def test_import_is_light() -> None:
    """`import leadlife` loads neither pandas, scikit-learn nor joblib."""
    code = (
        "import sys, leadlife; "
        "print(sorted(m for m in ('pandas', 'sklearn', 'joblib', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_demo_world_stays_inside_its_days() -> None:
    """Regression: the synthetic world emits no event at or after its end."""
    from leadlife.demo import World, generate_events

    world = World(leads=200, days=14, seed=3)
    events = generate_events(world)
    assert events
    assert max(e["at"] for e in events) < world.end.isoformat()


def test_ingest_accepts_an_event_model(engine: leadlife.Engine) -> None:
    """Engine.ingest takes a validated Event as well as a plain dict."""
    event = leadlife.Event(
        id="m1",
        lead_id="u1",
        type="download",
        at="2026-11-02T09:00:00+08:00",  # type: ignore[arg-type]
        data={"asset_id": "a1"},
    )
    assert engine.ingest(event).behaviour.total("download") == 1
