"""The examples run as their users would run them, and say something meaningful.

Scripts run in a subprocess with this interpreter. The plugin package is never
installed: its folder goes on ``sys.path`` (or ``PYTHONPATH``), and its entry point is
exercised through metadata written to a temporary folder.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tomllib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

import leadlife
from leadlife import Stage
from tests.helpers import crm_example_storage

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PLUGIN_DIR = EXAMPLES / "leadlife-company-registry"
PLUGIN_MODULE = "leadlife_company_registry"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def environment(*pythonpath: Path, plugins: str | None = "") -> dict[str, str]:
    """This process's environment with extra paths and a plugin allow-list (None: unset)."""
    env = {k: v for k, v in os.environ.items() if k != "LEADLIFE_TRACE_HOOKS"}
    env.pop("LEADLIFE_PLUGINS", None)
    # One OpenMP thread: the training example's threads spin-wait for a core, and on
    # a machine busy with other work that made it run for more than ten minutes.
    env.setdefault("OMP_NUM_THREADS", "1")
    if plugins is not None:
        env["LEADLIFE_PLUGINS"] = plugins
    paths = [str(p) for p in pythonpath]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def run_python(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run this interpreter with warnings as errors; fail with its output if it fails."""
    result = subprocess.run(
        [sys.executable, "-W", "error", *args],
        capture_output=True,
        text=True,
        timeout=600,  # a loaded machine trains slowly; a hang still fails
        env=environment() if env is None else env,
        check=False,
    )
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def test_crm_backend_runs(tmp_path: Path) -> None:
    """The CRM example ingests, routes, ticks, notifies, and finds its leads after a restart."""
    database = tmp_path / "crm.sqlite3"
    out = run_python(str(EXAMPLES / "crm_backend.py"), str(database)).stdout
    assert "ingested 16 events: 14 accepted, 1 duplicate, 1 rejected" in out
    assert "SAL -> SQL" in out
    assert "timers.sal_idle_days" in out
    assert "reactivation_due: lead wang has been silent for 90 days" in out
    assert "pushed to the CRM as customers: zhao" in out
    assert "after restart: 3 leads" in out
    # Routing: the Beijing phone puts li in team north; claim and transfer are events.
    assert "li was routed by region to rep0" in out
    assert "place 'Beijing' belongs to team north" in out
    assert "rep11 claimed wang: owner rep11, team inside" in out
    assert "nora transferred li: owner rep08, team north" in out
    assert "speed_to_lead_missed: lead li has waited 5 minutes" in out
    # The follow-up notices of the ticks reach the CRM's task list, addressed to the owner.
    ticked = out.split("tasks for the sales team from the daily ticks:")[1]
    assert "[rep11] call_attempt_due: call attempt 2 of 6 for lead wang is due" in ticked
    assert "[rep08] sal_idle: SAL li has shown no activity for 2 days" in ticked
    assert "call_attempt_due: call attempt 2 of 6 for lead li" not in ticked  # li's call connected
    # Owner, team, assignments and timers survive the pickled round trip through SQLite.
    assert (
        "li after restart: owner rep08, team north, 3 assignments "
        "(transferred by nora: rep07 is on leave from tomorrow); calls 1, connected True"
    ) in out
    assert "leads by team and owner: east/rep03 1, inside/rep11 1, north/rep08 1" in out
    with sqlite3.connect(database) as db:
        stages = dict(db.execute("SELECT id, stage FROM leads").fetchall())
        owners = {row[0]: row[1:] for row in db.execute("SELECT id, owner, team FROM leads")}
        events = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    db.close()
    assert stages == {"li": "sql", "wang": "cold", "zhao": "won"}
    assert owners == {
        "li": ("rep08", "north"),
        "wang": ("rep11", "inside"),
        "zhao": ("rep03", "east"),
    }
    assert events == 18  # 14 accepted, then a claim, a transfer and two calls


def test_crm_backend_runs_again_on_its_kept_database(tmp_path: Path) -> None:
    """Regression: run a second time on the database it kept, as its docstring offers,
    the example crashed with StopIteration (every event a duplicate, no new task)."""
    database = tmp_path / "crm.sqlite3"
    run_python(str(EXAMPLES / "crm_backend.py"), str(database))
    out = run_python(str(EXAMPLES / "crm_backend.py"), str(database)).stdout
    assert "ingested 16 events: 0 accepted, 15 duplicate" in out
    assert "after restart: 3 leads" in out


def test_crm_backend_runs_without_arguments() -> None:
    """Run with no arguments, the CRM example uses a throwaway database and still succeeds."""
    out = run_python(str(EXAMPLES / "crm_backend.py")).stdout
    assert "after restart: 3 leads" in out


def test_custom_scorer_runs() -> None:
    """The scikit-learn example trains, evaluates, and lets its model place leads in bands."""
    out = run_python(str(EXAMPLES / "custom_scorer.py")).stdout
    assert "held-out 400: accuracy" in out
    assert "ROC AUC" in out
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[3:]}
    assert rows["browser"] == "COLD"
    assert rows["event-goer"] == "HOT"
    assert rows["buyer"] == "MQL"


def test_lead_model_runs(tmp_path: Path) -> None:
    """The ML example trains on the log, saves and reloads the model, and scores live leads."""
    out = run_python(str(EXAMPLES / "lead_model.py"), str(tmp_path)).stdout
    assert "holdout (" in out
    assert "loaded it back (HistGradientBoostingClassifier)" in out
    assert ", 0 rejected" in out
    assert (tmp_path / "lead-scorer.v1.joblib.json").exists()
    assert (tmp_path / "report" / "roc.png").stat().st_size > 0
    top = [line for line in out.splitlines() if line.startswith("u0")]
    assert len(top) == 3
    assert all("score" in line for line in top)


def test_company_registry_on_a_fresh_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registered on a fresh manager from its folder, the plugin verifies a company into SQL."""
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    monkeypatch.delitem(sys.modules, PLUGIN_MODULE, raising=False)
    import leadlife_company_registry as plugin

    try:
        pm = leadlife.get_plugin_manager(load_entrypoints=False)
        pm.register(plugin, name="company-registry")
        engine = leadlife.Engine(plugin_manager=pm, clock=leadlife.FixedClock(T0))
        lead = engine.ingest(
            {
                "id": "e1",
                "lead_id": "u1",
                "type": "form_submit",
                "at": T0,
                "data": {"phone": "+8613800138000", "asset_id": "p1", "company": "ACME media"},
            }
        )
        assert lead.stage is Stage.SQL
        assert lead.profile["company"] == "Acme Media Co. Ltd."
        assert lead.profile["industry"] == "advertising"
        assert not engine.failures
    finally:
        sys.modules.pop(PLUGIN_MODULE, None)


def test_company_registry_own_tests_pass() -> None:
    """The plugin package's own test suite passes with its folder on PYTHONPATH."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=PLUGIN_DIR,
        capture_output=True,
        text=True,
        timeout=600,  # a loaded machine trains slowly; a hang still fails
        env=environment(PLUGIN_DIR),
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert " passed" in result.stdout
    assert "failed" not in result.stdout


def _fake_install(site: Path) -> None:
    """Write the metadata pip would write for the package's entry points, and nothing else."""
    project = tomllib.loads((PLUGIN_DIR / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dist = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n",
        encoding="utf-8",
    )
    lines = ["[leadlife]"]
    lines += [f"{name} = {target}" for name, target in project["entry-points"]["leadlife"].items()]
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("allow_list", "loaded"),
    [(None, True), ("company-registry", True), ("", False), (" company-registry ,", True)],
)
def test_company_registry_entry_point(tmp_path: Path, allow_list: str | None, loaded: bool) -> None:
    """The declared entry point loads through get_plugin_manager, as LEADLIFE_PLUGINS allows."""
    _fake_install(tmp_path)
    code = (
        "import leadlife; "
        "pm = leadlife.get_plugin_manager(); "
        "print(sorted(name for name, _ in pm.list_name_plugin()))"
    )
    env = environment(tmp_path, PLUGIN_DIR, plugins=allow_list)
    out = run_python("-c", code, env=env).stdout
    assert ("'company-registry'" in out) is loaded, out


def test_crm_backend_storage_keeps_any_event_data_as_sent(tmp_path: Path) -> None:
    """Regression: the example's SQLite storage wrote events as JSON, so data bytes
    that are not UTF-8 failed every commit (the event could never be stored) and a
    Decimal or a date came back from events() as text."""
    from datetime import date
    from decimal import Decimal

    storage, provider = crm_example_storage(tmp_path / "crm.db")
    engine = leadlife.Engine(plugins=[provider])
    data = {"blob": b"\xff\x00", "amount": Decimal("19800.00"), "day": date(2026, 11, 2)}
    sent = {
        "id": "b1",
        "lead_id": "u1",
        "type": "page_view",
        "at": datetime(2026, 11, 2, tzinfo=UTC),
    }
    engine.ingest({**sent, "data": data})
    (back,) = engine.storage.events("u1")
    assert back.data == data
    body = storage._db.execute("SELECT body FROM events").fetchone()[0]
    assert '"blob":"_wA="' in body  # url-safe base64, for reports
    # Regression: the JSON column dropped an offset's seconds (43 s off): it holds
    # the event's own JSON form of `at`, in UTC for such an offset.
    old_zone = timezone(timedelta(hours=8, minutes=5, seconds=43))
    engine.ingest({**sent, "id": "b2", "at": datetime(1900, 6, 1, 8, 5, 43, tzinfo=old_zone)})
    body = storage._db.execute("SELECT body FROM events WHERE id = 'b2'").fetchone()[0]
    assert '"at":"1900-06-01T00:00:00Z"' in body
