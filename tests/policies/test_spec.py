"""Policy documents: the DESIGN example parses, defaults fill in, and every refusal names its field."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from app.core.errors import ValidationProblem
from app.policies import parse_policy, policy_fingerprint
from app.policies.conditions import Level, LevelKind

DESIGN_EXAMPLE = """
kind: policy
name: support
order: 10
match:
  source: [jira]
  project: [SUP]
  type: [Incident, "Service Request"]
calendar: eu-support
metrics:
  first_response:
    start: [created]
    stop: [agent_public_comment]
    pause_when: {status_category: [waiting]}
  resolution:
    start: [created]
    stop: [resolved]
    pause_when: {status_category: [waiting]}
    on_reopen: resume
targets:
  - {tier: platinum, priority: P1,
     first_response: {target: 15m, limit: 30m, calendar: 24x7},
     resolution: {target: 4h, calendar: 24x7}}
  - {priority: P1, first_response: {target: 1h}, resolution: {target: 8h}}
  - {first_response: {target: 8h, warn: 80%}, resolution: {target: 40h}}
escalations:
  - {metric: resolution, at: 75%, actions: [{webhook: sla.warning}]}
  - {metric: resolution, at: 30m before, actions: [{comment: "Resolution due in 30 minutes"}]}
  - {metric: any, at: breach, actions: [{webhook: sla.breached}, {assign: team-lead}]}
  - {metric: resolution, at: 2h after, actions: [{priority: raise}]}
"""
CALENDARS = ["eu-support"]


def _doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(DESIGN_EXAMPLE)
    doc.update(changes)
    return doc


def _problems(doc: dict[str, Any], calendars: list[str] = CALENDARS) -> dict[str, str]:
    with pytest.raises(ValidationProblem) as caught:
        parse_policy(doc, calendars)
    return {e.field: e.reason for e in caught.value.errors}


def test_design_example_parses() -> None:
    spec = parse_policy(_doc(), CALENDARS)

    assert (spec.name, spec.order, spec.match.type) == ("support", 10, ["Incident", "Service Request"])
    platinum = spec.targets[0].first_response
    assert platinum is not None
    assert (platinum.target, platinum.limit_seconds, platinum.calendar) == (900, 1800, "24x7")
    assert spec.targets[2].first_response is not None
    assert spec.targets[2].first_response.warn == Level(LevelKind.percent, percent=80.0)
    assert [e.at.kind for e in spec.escalations] == ["percent", "before", "breach", "after"]
    assert spec.escalations[1].at.elapsed_for(3600) == 1800
    assert [a.kind for a in spec.escalations[2].actions] == ["webhook", "assign"]
    assert spec.tracked_metrics() == ["first_response", "resolution"]


def test_metrics_and_conditions_left_out_get_builtin_defaults() -> None:
    spec = parse_policy(
        {
            "name": "p",
            "metrics": {"resolution": {"on_reopen": "new_cycle"}},
            "targets": [{"resolution": {"target": "8h"}}],
        },
        [],
    )

    assert spec.calendar == "24x7"
    assert spec.metrics.resolution.start == ["created"]
    assert spec.metrics.resolution.pause_when.status_category == ["waiting"]
    assert spec.metrics.resolution.on_reopen == "new_cycle"
    assert spec.metrics.next_response.start == ["customer_comment"]
    assert spec.metrics.first_response.stop == ["agent_public_comment", "resolved"]


def test_scalars_mean_one_item_lists() -> None:
    spec = parse_policy(
        {"name": "p", "match": {"tier": "gold"}, "targets": [{"priority": "P1", "resolution": {"target": "1h"}}]}, []
    )

    assert (spec.match.tier, spec.targets[0].priority) == (["gold"], ["P1"])


@pytest.mark.parametrize(
    ("change", "field", "reason_part"),
    [
        ({"first_response": {"target": "soon"}}, "targets[2].first_response.target", "not a duration"),
        ({"first_response": {"target": 900}}, "targets[2].first_response.target", "unit is never guessed"),
        (
            {"first_response": {"target": "1h", "limit": "30m"}},
            "targets[2].first_response.limit",
            "shorter than target",
        ),
        ({"first_response": {"target": "1h", "warn": "100%"}}, "targets[2].first_response.warn", "below 100%"),
        (
            {"first_response": {"target": "1h", "warn": "2h"}},
            "targets[2].first_response.warn",
            "shorter than the limit",
        ),
        ({"first_response": {"target": "1h", "warn": "breach"}}, "targets[2].first_response.warn", "warning is a"),
        (
            {"first_response": {"target": "1h", "calendar": "nope"}},
            "targets[2].first_response.calendar",
            "unknown calendar",
        ),
        ({"time_to_coffee": {"target": "1h"}}, "targets[2].time_to_coffee", "unknown metric"),
        ({"first_response": {"target": "1h", "timezone": "UTC"}}, "targets[2].first_response.timezone", "ticket"),
    ],
)
def test_bad_target_names_its_field(change: dict[str, Any], field: str, reason_part: str) -> None:
    doc = _doc()
    doc["targets"][2] = change

    problems = _problems(doc)

    assert field in problems, problems
    assert reason_part in problems[field]


def test_unknown_trigger_and_category_name_their_place() -> None:
    doc = _doc()
    doc["metrics"]["resolution"]["stop"] = ["resolved", "when_pigs_fly"]
    doc["metrics"]["first_response"]["pause_when"] = {"status_category": ["snoozing"]}
    doc["metrics"]["first_response"]["start"] = ["status_category:asleep"]

    problems = _problems(doc)

    assert "unknown trigger 'when_pigs_fly'" in problems["metrics.resolution.stop[1]"]
    assert "metrics.first_response.pause_when.status_category[0]" in problems
    assert "unknown status category" in problems["metrics.first_response.start[0]"]


def test_unknown_metric_in_metrics_and_escalations() -> None:
    doc = _doc(escalations=[{"metric": "coffee", "at": "breach", "actions": [{"webhook": "x"}]}])
    doc["metrics"]["coffee"] = {"start": ["created"], "stop": ["resolved"]}

    problems = _problems(doc)

    assert "unknown metric" in problems["metrics.coffee"]
    assert "unknown metric" in problems["escalations[0].metric"]


def test_unknown_calendars_are_refused_and_24x7_is_always_known() -> None:
    problems = _problems(_doc(), calendars=[])

    assert set(problems) == {"calendar"}  # the rows' 24x7 is built in


def test_no_targets() -> None:
    assert "targets" in _problems(_doc(targets=[]))
    assert "targets" in _problems({"name": "p"})


def test_row_without_any_metric() -> None:
    assert "sets no target" in _problems(_doc(targets=[{"priority": "P1"}]))["targets[0]"]


def test_rows_shadowed_by_a_catch_all_or_identical_row_are_unreachable() -> None:
    doc = _doc()
    doc["targets"].append({"priority": "P2", "resolution": {"target": "1h"}})
    doc["targets"].insert(1, {"tier": "platinum", "priority": ["p1"], "resolution": {"target": "2h"}})

    problems = _problems(doc)

    assert "targets[0] already matches" in problems["targets[1].resolution"]
    assert "targets[3] already matches" in problems["targets[4].resolution"]
    assert len(problems) == 2


def test_partly_overlapping_rows_are_fine() -> None:
    doc = _doc(
        targets=[
            {"tier": "gold", "resolution": {"target": "2h"}},
            {"priority": "P1", "resolution": {"target": "4h"}},
            {"tier": "gold", "first_response": {"target": "1h"}},
        ]
    )
    assert parse_policy(doc, CALENDARS).targets[2].first_response is not None


@pytest.mark.parametrize(
    ("escalation", "field"),
    [
        ({"metric": "any", "at": "soonish", "actions": [{"webhook": "x"}]}, "escalations[0].at"),
        ({"metric": "any", "at": "breach", "actions": []}, "escalations[0].actions"),
        ({"metric": "any", "at": "breach", "actions": [{"webhook": "x", "assign": "y"}]}, "escalations[0].actions[0]"),
        ({"metric": "any", "at": "breach", "actions": [{"assign": "y", "public": True}]}, "escalations[0].actions[0]"),
        ({"metric": "any", "at": "breach", "actions": [{"shout": "y"}]}, "escalations[0].actions[0].shout"),
        ({"metric": "any", "at": "breach", "clock": "sundial", "actions": [{"webhook": "x"}]}, "escalations[0].clock"),
    ],
)
def test_bad_escalations_name_their_field(escalation: dict[str, Any], field: str) -> None:
    assert field in _problems(_doc(escalations=[escalation]))


def test_escalation_on_a_metric_without_targets() -> None:
    doc = _doc(escalations=[{"metric": "next_response", "at": "breach", "actions": [{"webhook": "x"}]}])

    assert "no target row" in _problems(doc)["escalations[0].metric"]


def test_escalation_levels_and_actions_parse() -> None:
    doc = _doc(
        escalations=[
            {
                "metric": "first_response",
                "at": "87.5%",
                "clock": "wall",
                "tier": "gold",
                "actions": [{"labels": ["hot"]}],
            },
            {
                "metric": "any",
                "at": "1h30m after",
                "actions": [{"comment": "late", "public": True}, {"priority": "P1"}],
            },
        ]
    )
    spec = parse_policy(doc, CALENDARS)

    first, second = spec.escalations
    assert (first.at.percent, first.clock, first.tier) == (87.5, "wall", ["gold"])
    assert (second.at.kind, second.at.seconds) == (LevelKind.after, 5400)
    assert second.actions[0].public is True


def test_error_detail_lists_every_problem() -> None:
    doc = _doc(calendar="missing")
    doc["targets"][0]["resolution"]["limit"] = "1h"

    with pytest.raises(ValidationProblem) as caught:
        parse_policy(doc, CALENDARS)

    assert {e.field for e in caught.value.errors} == {"calendar", "targets[0].resolution.limit"}
    assert caught.value.status == 422


def test_fingerprint_is_canonical() -> None:
    spec = parse_policy(_doc(), CALENDARS)
    same = _doc()
    same["targets"][1]["first_response"]["target"] = "60m"
    different = _doc()
    different["targets"][1]["first_response"]["target"] = "61m"

    assert policy_fingerprint(parse_policy(same, CALENDARS)) == policy_fingerprint(spec)
    assert policy_fingerprint(parse_policy(different, CALENDARS)) != policy_fingerprint(spec)


def test_dumped_spec_parses_back_to_the_same_spec() -> None:
    spec = parse_policy(_doc(), CALENDARS)

    assert parse_policy(spec.model_dump(mode="json"), CALENDARS) == spec
