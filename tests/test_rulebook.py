"""Loading, validating and evaluating rulebooks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import leadlife
from leadlife import Stage
from leadlife.errors import RulebookError
from leadlife.rules import Rulebook, load_rulebook
from leadlife.scoring import ScoringRules
from tests.helpers import ev, hours


def error_for(data: dict[str, Any]) -> RulebookError:
    with pytest.raises(RulebookError) as info:
        Rulebook.from_dict(data)
    return info.value


def test_default_rulebook_loads() -> None:
    """The shipped rulebook declares the domain's event vocabulary and the three rules."""
    rules = Rulebook.default()
    assert {"page_view", "form_submit", "deal_won", "reopened"} <= set(rules.event_types)
    assert set(rules.model.qualification) == {"MQL", "SQL", "SAL"}
    assert rules.model.timers.sal_idle_days == 2
    assert rules.model.timers.sleep_days == 90


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        ({"bands": {"wram": 3}}, "bands.wram", "did you mean 'warm'"),
        ({"timers": {"sleep_days": -1}}, "timers.sleep_days", "from one second"),
        ({"timers": {"cooling_days": 5e-324}}, "timers.cooling_days", "from one second"),
        ({"event_types": {"x": {"requires": [""]}}}, "event_types.x.requires.0", "1 character"),
        ({"event_types": {"x": {"points": 1e308}}}, "event_types.x.points", "less than"),
        ({"event_types": {"": {}}}, "event_types.", "1 character"),
        ({"timers": {"sleep_days": "soon"}}, "timers.sleep_days", "valid number"),
        # Lax validation read these as true: a quoted or numeric switch is a mistake.
        ({"strict": "yes"}, "strict", "write true or false, without quotes"),
        ({"strict": 1}, "strict", "(got 1)"),
        ({"event_types": {"x": {"reopens": "no"}}}, "event_types.x.reopens", "true or false"),
        (
            {"qualification": {"SQL": {"when": {"field": "a", "exists": "true"}}}},
            "qualification.SQL.when.exists",
            "true or false",
        ),
        ({"bands": {"warm": 50, "hot": 10}}, "bands", "must be below hot"),
        ({"event_types": {"x": {"actor": "robot"}}}, "event_types.x.actor", "'lead'"),
        ({"event_types": {"x": {"closes": "won", "reopens": True}}}, "event_types.x", "not both"),
        (
            {"qualification": {"XQL": {"when": {"field": "a", "exists": True}}}},
            "qualification.XQL",
            "'MQL', 'SQL' or 'SAL'",
        ),
        (
            {"qualification": {"SQL": {"when": {"all": [{"field": "a", "exist": True}]}}}},
            "qualification.SQL.when.all.0.exist",
            "did you mean 'exists'",
        ),
        (
            {"qualification": {"SQL": {"when": {"all": [{"feld": "a"}]}}}},
            "qualification.SQL.when.all.0",
            "field, event, all, any or not",
        ),
        (
            {"qualification": {"SQL": {"when": {"field": "a"}}}},
            "qualification.SQL.when",
            "give one operator",
        ),
        (
            {"qualification": {"SQL": {"when": {"event": "x", "since": "y", "min_count": 2}}}},
            "qualification.SQL.when",
            "cannot be combined",
        ),
        (
            {"qualification": {"SQL": {"reason": "no rule"}}},
            "qualification.SQL.when",
            "add the key",
        ),
        (
            {"qualification": {"SQL": {"when": {"field": "employees", "min": 500, "max": 50}}}},
            "qualification.SQL.when",
            "min 500 is above max 50",
        ),
        # Regressions: each loaded, then failed every lead at run time.
        ({"phone_region": "XX"}, "phone_region", "unknown region 'XX'"),
        ({"phone_region": "12"}, "phone_region", "ISO 3166 alpha-2"),
        (
            {"event_types": {"download": {"points": float("nan")}}},
            "event_types.download.points",
            "finite",
        ),
        ({"bands": {"hot": float("inf")}}, "bands.hot", "finite"),
    ],
)
def test_bad_rulebook_names_the_path(data: dict[str, Any], path: str, words: str) -> None:
    """Each mistake fails at load with its dotted path and a hint."""
    error = error_for(data)
    assert error.path == path
    assert words in str(error)


def test_phone_region_is_read_in_any_case() -> None:
    """``"cn"`` is the region CN: national numbers validate under it."""
    rules = Rulebook.from_dict({"extends": "default", "phone_region": "cn"})
    assert rules.phone_region == "CN"
    engine = leadlife.Engine(rulebook=rules)
    lead = engine.ingest(ev("form_submit", phone="13800138000", asset_id="a1"))
    assert lead.profile["phone"] == "+8613800138000"
    assert lead.stage is Stage.MQL


def test_strict_rulebook_checks_condition_event_types() -> None:
    """Under strict, a condition on an undeclared event type fails at load."""
    error = error_for(
        {
            "strict": True,
            "event_types": {"a": {}},
            "qualification": {"MQL": {"when": {"event": "typo_event"}}},
        }
    )
    assert error.path == "qualification.MQL.when"
    assert "typo_event" in str(error)
    assert "declare [event_types.typo_event]" in error.fix


def test_toml_file_round_trip(tmp_path: Path) -> None:
    """A TOML file with extends = "default" overrides only what it names."""
    path = tmp_path / "rules.toml"
    path.write_text('extends = "default"\n[bands]\nwarm = 3\n', encoding="utf-8")
    rules = load_rulebook(path)
    assert rules.model.bands.warm == 3
    assert rules.model.bands.hot == 40
    assert rules.source == str(path)


def test_load_rulebook_refuses_other_types() -> None:
    """Only Rulebook, mapping or path are accepted."""
    with pytest.raises(RulebookError, match="cannot load a rulebook from int"):
        load_rulebook(42)  # type: ignore[arg-type]


def test_host_redefines_sql_without_code(pm: leadlife.plugins.LeadlifePluginManager) -> None:
    """SQL = "sales accepted and followed up", a common variant, written as data."""
    engine = leadlife.Engine(
        {
            "extends": "default",
            "qualification": {
                "SQL": {
                    "reason": "sales accepted and followed up",
                    "when": {"all": [{"event": "sales_accepted"}, {"event": "call_attempt"}]},
                },
                "SAL": {"when": {"event": "demo_requested"}},
            },
        },
        plugin_manager=pm,
    )
    engine.ingest(ev("form_submit", phone="+8613800138000", asset_id="p"))
    assert engine.ingest(ev("sales_accepted", hours(1), owner="r1")).stage is Stage.MQL
    lead = engine.ingest(ev("call_attempt", hours(2), connected=True))
    assert lead.stage is Stage.SQL
    assert lead.history[-1].reason == "sales accepted and followed up"


def test_ladder_can_stop_early(pm: leadlife.plugins.LeadlifePluginManager) -> None:
    """A rulebook that defines only MQL never promotes beyond it."""
    engine = leadlife.Engine(
        {"qualification": {"MQL": {"when": {"field": "email_valid", "equals": True}}}},
        plugin_manager=pm,
    )
    engine.ingest(ev("form_submit", email="a@b.co"))
    lead = engine.ingest(ev("sales_accepted", hours(1), owner="r"))
    assert lead.stage is Stage.COLD  # this rulebook declares no event types, so no profile


@pytest.mark.parametrize(
    ("condition", "profile", "expected"),
    [
        ({"field": "size", "min": 10, "max": 100}, {"size": 50}, True),
        ({"field": "size", "min": 10}, {"size": 5}, False),
        ({"field": "size", "max": 10}, {"size": "a lot"}, False),
        ({"field": "size", "min": 10}, {"size": "50"}, True),  # numbers written as text
        ({"field": "email", "matches": "free_mail"}, {"email": "a@QQ.com"}, True),
        ({"field": "industry", "in": ["media", "ads"]}, {"industry": "ads"}, True),
        ({"field": "industry", "in": ["media"]}, {"industry": ["unhashable"]}, False),
        ({"field": "tier", "equals": "KA"}, {"tier": "KA"}, True),
        ({"field": "tier", "exists": False}, {}, True),
        ({"field": "tier", "exists": True}, {"tier": ""}, False),
        ({"not": {"field": "tier", "exists": True}}, {"tier": "x"}, False),
        ({"any": [{"field": "a", "exists": True}, {"field": "b", "exists": True}]}, {"b": 1}, True),
    ],
)
def test_field_conditions(
    condition: dict[str, Any], profile: dict[str, Any], expected: bool
) -> None:
    """Field operators (the scoring rules' own tests) and the combinators."""
    from leadlife.rules.conditions import compile_condition
    from leadlife.rules.model import QualificationSpec

    predicate = compile_condition(QualificationSpec.model_validate({"when": condition}).when)
    lead = leadlife.Lead("u", profile=profile)
    assert predicate(lead, 0.0, None) is expected


def test_event_window_condition(pm: leadlife.plugins.LeadlifePluginManager) -> None:
    """'downloads in 7 days >= 3' qualifies only while three fall inside the window."""
    engine = leadlife.Engine(
        {
            "extends": "default",
            "qualification": {
                "MQL": {"when": {"event": "download", "min_count": 3, "within_days": 7}}
            },
        },
        plugin_manager=pm,
    )
    engine.ingest(ev("download", asset_id="a"))
    engine.ingest(ev("download", hours(24 * 8), asset_id="b"))
    assert engine.get("u1").stage is not Stage.MQL
    engine.ingest(ev("download", hours(24 * 9), asset_id="c"))
    assert engine.get("u1").stage is not Stage.MQL
    assert engine.ingest(ev("download", hours(24 * 10), asset_id="d")).stage is Stage.MQL


def test_graph_missing_a_needed_move_fails_at_load() -> None:
    """Regression: a graph without SAL→SQL is refused when the rulebook is built, not at tick."""
    from leadlife.errors import StageGraphError
    from leadlife.stages import DEFAULT_GRAPH, StageGraph

    table = DEFAULT_GRAPH.table()
    del table[Stage.SAL][Stage.SQL]
    table[Stage.SAL][Stage.MQL] = leadlife.stages.Move.DEMOTION  # keep the graph itself valid
    graph = StageGraph(table)
    with pytest.raises(StageGraphError, match=r"SAL→SQL \(timers.sal_idle_days\)"):
        Rulebook(Rulebook.default().model, graph=graph)


def test_graph_starting_elsewhere_than_cold_is_refused() -> None:
    """Regression: the rulebook ignored the graph's initial stage (leads start COLD)."""
    from leadlife.errors import StageGraphError
    from leadlife.stages import DEFAULT_GRAPH, StageGraph

    table = DEFAULT_GRAPH.table()
    table[Stage.WARM][Stage.COLD] = leadlife.stages.Move.DEMOTION
    graph = StageGraph(table, initial=Stage.WARM)
    with pytest.raises(StageGraphError, match=r"give the graph initial=Stage\.COLD"):
        Rulebook(Rulebook.default().model, graph=graph)


def test_ladder_with_a_gap_is_refused() -> None:
    """Regression: SQL without MQL would silently disable SQL; it is a load error instead."""
    error = error_for({"qualification": {"SQL": {"when": {"field": "a", "exists": True}}}})
    assert error.path == "qualification.MQL"
    assert "cumulative" in str(error)


def test_extends_replaces_a_stage_rule_whole() -> None:
    """Regression: overriding SQL's condition does not keep the default SQL reason."""
    rules = Rulebook.from_dict(
        {"extends": "default", "qualification": {"SQL": {"when": {"event": "call_attempt"}}}}
    )
    assert rules.model.qualification["SQL"].reason == ""
    assert rules.model.qualification["MQL"].reason.startswith("left a valid phone")


# -- errors name the key the author wrote and say what to change ----------------------


@pytest.mark.parametrize("extends", [{}, {"extends": "default"}])
def test_rule_scorer_named_like_a_builtin_scorer_fails_at_load(extends: dict[str, Any]) -> None:
    """Regression: ``scoring.name = "points"`` loaded, then building the engine raised a
    RegistrationError blaming leadlife's own plugin; it is a load error at the key."""
    data = {**extends, "bands": {"scorer": "points"}, "scoring": {"name": "points"}}
    error = error_for(data)
    assert error.path == "scoring.name"
    assert "'points' is the name of the built-in points scorer" in error.problem
    assert "give the rule scorer another name" in error.fix
    with pytest.raises(RulebookError) as info:
        leadlife.Engine(rulebook=data)
    assert info.value.path == "scoring.name"


def test_reserved_scorer_names_are_the_builtin_plugins() -> None:
    """Every scorer an engine registers on its own, besides the rule scorer, is a name a
    rulebook's [scoring] may not take (else the clash is back at engine build)."""
    from leadlife.rules.model import BUILTIN_SCORERS

    engine = leadlife.Engine(rulebook={"extends": "default", "scoring": {"name": "mine"}})
    assert set(engine.scorers) - {"mine"} == set(BUILTIN_SCORERS)


@pytest.mark.parametrize(
    ("scoring", "path", "fix"),
    [
        (
            {"engagement": [{"when": {"event": "dowload"}, "points": 5}]},
            "scoring.engagement.0.when.event",
            "correct it to 'download', or add 'dowload' to event_types",
        ),
        (
            {"weighted": [{"event": "dowload", "weight": 5}]},
            "scoring.weighted.0.event",
            "correct it to 'download', or add 'dowload' to event_types",
        ),
    ],
)
def test_strict_scoring_errors_keep_the_scoring_prefix(
    scoring: dict[str, Any], path: str, fix: str
) -> None:
    """Regression: a strict [scoring] table's error lost its place in the lifecycle
    rulebook (``engagement.0.when.event``, a key the rulebook does not have)."""
    error = error_for({"scoring": {"strict": True, "event_types": ["download"], **scoring}})
    assert error.path == path
    assert error.problem == "unknown event type 'dowload' (strict)"
    assert fix in error.fix
    assert str(error).startswith(f"rulebook <dict>: {path}: unknown event type")


def test_strict_scoring_without_event_types_names_the_key() -> None:
    """The check on the whole [scoring] table names the key it needs, under scoring."""
    error = error_for({"scoring": {"strict": True}})
    assert error.path == "scoring.event_types"
    assert "or set strict = false" in error.fix


def test_event_condition_in_a_fit_rule_names_the_key() -> None:
    """Regression: the message said "unknown key 'when'. Fix: did you mean 'when'?"."""
    error = error_for({"scoring": {"fit": [{"when": {"event": "download"}, "points": 5}]}})
    assert error.path == "scoring.fit.0.when.event"
    assert error.problem == "unknown key 'event'"
    assert "event and inactivity conditions go in [[engagement]]" in error.fix


@pytest.mark.parametrize(
    ("when", "path"),
    [
        ({"not": {"field": "a", "exists": True, "any": []}}, "qualification.MQL.when.not.any"),
        ({"field": "a", "exists": True, "event": "x"}, "qualification.MQL.when.event"),
    ],
)
def test_key_of_another_condition_kind_is_not_suggested_back(
    when: dict[str, Any], path: str
) -> None:
    """Regression: a stray ``any`` got "did you mean 'any'?"; the fix now says a
    condition table holds one kind and how to combine conditions."""
    error = error_for({"qualification": {"MQL": {"when": when}}})
    assert error.path == path
    assert "did you mean" not in error.fix
    assert "combine the conditions under all = [...] or any = [...]" in error.fix


@pytest.mark.parametrize(
    ("data", "path", "problem", "fix"),
    [
        (
            {"qualification": {"MQL": {"when": {"field": "a", "equals": "x", "in": ["x"]}}}},
            "qualification.MQL.when",
            "give one operator, not equals and in",
            "keep one of equals / in (only min and max go together)",
        ),
        (
            {"extends": "default", "bands": {"warm": 50}},
            "bands",
            "warm (50) must be below hot (40)",
            "raise hot above 50 or lower warm below 40",
        ),
        (
            {"bands": {"warm": 10.5, "hot": 10.25}},
            "bands",
            "warm (10.5) must be below hot (10.25)",
            "raise hot above 10.5 or lower warm below 10.25",
        ),
        (
            {"timers": {"sleep_days": -1}},
            "timers.sleep_days",
            "-1 days is not a period the engine can time",
            "give days, from one second (1/86400)",
        ),
        (
            {"phone_region": "XX"},
            "phone_region",
            "unknown region 'XX'",
            "use an ISO 3166 alpha-2 code such as 'CN' or 'US'",
        ),
        (
            {"event_types": {"x": {"closes": "won", "reopens": True}}},
            "event_types.x",
            "an event type either closes or reopens a lead, not both",
            "keep one of closes / reopens",
        ),
        (
            {"qualification": {"MQL": {"when": {"event": "x", "since": "y", "within_days": 3}}}},
            "qualification.MQL.when",
            "'since' cannot be combined with min_count or within_days",
            "remove within_days, or remove since",
        ),
    ],
)
def test_validator_errors_read_as_the_rulebook_is_written(
    data: dict[str, Any], path: str, problem: str, fix: str
) -> None:
    """Regression: messages read "Value error, give one operator, not equals, in_. Fix:
    change the value as the message says": pydantic's prefix, the attribute name
    ``in_`` for the key ``in``, and no fix of their own."""
    error = error_for(data)
    assert (error.path, error.problem) == (path, problem)
    assert error.fix.startswith(fix)
    assert "Value error" not in str(error)
    assert "as the message says" not in error.fix


def test_other_validators_lose_pydantic_prefix() -> None:
    """Regression: a plain ValueError from a validator (routing configurations raise
    them) kept pydantic's "Value error, " in the problem."""
    from pydantic import BaseModel, ValidationError, field_validator

    from leadlife.toml_files import rulebook_error

    class Table(BaseModel):
        days: int

        @field_validator("days")
        @classmethod
        def _positive(cls, days: int) -> int:
            if days < 0:
                raise ValueError(f"{days} days is before the start")
            return days

    with pytest.raises(ValidationError) as info:
        Table.model_validate({"days": -2})
    error = rulebook_error(info.value, "t.toml", docs="docs/rulebook.md")
    assert (error.path, error.problem) == ("days", "-2 days is before the start")
    assert str(error).startswith("rulebook t.toml: days: -2 days is before the start. Fix:")


def test_condition_key_outside_a_condition_gets_no_condition_advice() -> None:
    """A stage's table itself is not a condition: an ``event`` beside ``when`` is just
    a key that belongs elsewhere."""
    error = error_for({"qualification": {"MQL": {"event": "x", "when": {"event": "x"}}}})
    assert error.path == "qualification.MQL.event"
    assert error.fix.startswith("remove the key; 'event' belongs in another table")


@pytest.mark.parametrize(
    ("load", "data", "fix"),
    [
        (Rulebook.from_dict, {"half_life_days": 30}, "put it under [scoring]"),
        (Rulebook.from_dict, {"name": "fit_and_intent"}, "put it under [scoring]"),
        (ScoringRules.from_dict, {"timers": {}}, "give the lifecycle rulebook"),
    ],
)
def test_a_key_of_the_other_kind_of_rulebook_says_where_it_goes(
    load: Any, data: dict[str, Any], fix: str
) -> None:
    """Regression: a scoring key at the top of a lifecycle rulebook (a missing
    [scoring] header) was told "did you mean" the same key."""
    with pytest.raises(RulebookError) as refused:
        load(data)
    assert refused.value.path == next(iter(data))
    assert fix in refused.value.fix
    assert "did you mean" not in refused.value.fix


@pytest.mark.parametrize(
    ("data", "path", "shown"),
    [
        ({"timers": {"sal_idle_days": True}}, "timers.sal_idle_days", "True"),
        ({"timers": {"cooling_days": "30"}}, "timers.cooling_days", "'30'"),
        ({"event_types": {"download": {"points": True}}}, "event_types.download.points", "True"),
        (
            {"scoring": {"engagement": [{"when": {"event": "download"}, "points": "5"}]}},
            "scoring.engagement.0.points",
            "'5'",
        ),
        (
            {"scoring": {"weighted": [{"event": "download", "within_days": 7.5, "weight": 1}]}},
            "scoring.weighted.0.within_days",
            "7.5",
        ),
    ],
)
def test_numbers_must_be_numbers(data: dict[str, Any], path: str, shown: str) -> None:
    """Regression: lax validation read true as 1 day and "30" as 30 points."""
    with pytest.raises(RulebookError) as refused:
        Rulebook.from_dict({"extends": "default", **data})
    assert refused.value.path == path
    assert f"got {shown}" in refused.value.problem or f"boolean {shown}" in refused.value.problem
    assert "e.g. " in refused.value.fix
    assert Rulebook.from_dict({"extends": "default", "timers": {"sal_idle_days": 2}})


def test_numbers_from_numpy_and_databases_are_numbers() -> None:
    """numpy's numbers (a frame's), Decimal (a database's) and whole floats for counts
    load as before the strict check; numpy's booleans are refused like Python's."""
    from decimal import Decimal

    import numpy as np

    loaded = Rulebook.from_dict(
        {
            "extends": "default",
            "event_types": {"download": {"points": np.int64(12)}},
            "timers": {"cooling_days": Decimal("30")},
            "qualification": {
                "MQL": {"when": {"event": "download", "min_count": np.int64(2), "within_days": 7.0}}
            },
        }
    )
    assert loaded.event_types["download"].points == 12.0
    assert loaded.model.timers.cooling_days == 30.0
    with pytest.raises(RulebookError, match="boolean"):
        Rulebook.from_dict({"extends": "default", "event_types": {"x": {"points": np.True_}}})


@pytest.mark.parametrize(
    ("path", "key", "hint"),
    [
        (["engagement", 0, "when"], "not_in", None),
        (["engagement", 0, "when"], "equal", None),
        (["engagement", 0, "when"], "within", "within_days"),
        (["engagement", 0], "max_point", "max_points"),
        (["fit", 0], "fire", None),
        (["fit", 0], "point", "points"),
    ],
)
def test_scoring_hints_suggest_only_keys_of_the_same_table(
    path: list[Any], key: str, hint: str | None
) -> None:
    """Regression: an engagement rule's when, and a rule's own keys, were offered any
    rulebook key ('not_in' -> 'not', 'fire' -> 'fires'), which the same table then
    refused as belonging in another table."""
    data: dict[str, Any] = {
        "fit": [{"id": "a", "when": {"field": "x", "exists": True}, "points": 1}],
        "engagement": [{"id": "d", "when": {"event": "download"}, "points": 1}],
    }
    table: Any = data
    for part in path:
        table = table[part]
    table[key] = 1
    with pytest.raises(RulebookError) as refused:
        ScoringRules.from_dict(data)
    assert refused.value.path == ".".join(map(str, [*path, key]))
    if hint is None:
        assert "did you mean" not in refused.value.fix
        return
    assert refused.value.fix.startswith(f"did you mean {hint!r}? ")
    table[hint] = table.pop(key)
    ScoringRules.from_dict(data)  # following the hint is accepted


@pytest.mark.parametrize("text", ["", "\n\n", "# our rulebook, to do\n"])
def test_an_empty_rulebook_file_is_refused(tmp_path: Path, text: str) -> None:
    """Regression: an empty rulebook file loaded as a rulebook with no event types, so
    the engine accepted every event and moved no lead, without a word."""
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulebookError, match="holds no settings") as caught:
        leadlife.Engine(rulebook=path)
    assert caught.value.source == str(path)
    assert 'extends = "default"' in caught.value.fix
    with pytest.raises(RulebookError, match="holds no settings"):
        Rulebook.from_toml(text)
    path.write_text('extends = "default"\n', encoding="utf-8")
    assert Rulebook.load(path).event_types == Rulebook.default().event_types
