"""Choosing a ticket's policy and its target row."""

from __future__ import annotations

from typing import Any

from app.policies import PolicySpec, parse_policy, select_policy, select_target
from app.tickets.events import TicketSnapshot


def _policy(name: str, *, order: int = 100, match: dict[str, Any] | None = None, **extra: Any) -> PolicySpec:
    doc = {"name": name, "order": order, "match": match or {}, "targets": [{"resolution": {"target": "8h"}}], **extra}
    return parse_policy(doc, [])


def _ticket(**fields: Any) -> TicketSnapshot:
    return TicketSnapshot.model_validate(fields)


def test_lowest_order_then_name_wins() -> None:
    policies = [
        _policy("zeta", order=5, match={"project": "SUP"}),
        _policy("alpha", order=5, match={"project": "SUP"}),
        _policy("first", order=1, match={"project": "OPS"}),
    ]

    chosen = select_policy(policies, _ticket(project="SUP"), "jira")

    assert chosen is not None
    assert chosen.name == "alpha"


def test_empty_match_is_the_default() -> None:
    policies = [_policy("default", order=1000), _policy("sup", order=10, match={"project": "SUP"})]

    assert select_policy(policies, _ticket(project="OPS"), "jira") is policies[0]
    assert select_policy(policies, _ticket(project="SUP"), "jira") is policies[1]


def test_every_key_must_hold_and_lists_mean_any_of() -> None:
    spec = _policy(
        "p",
        match={"source": ["jira", "jira-emea"], "type": ["Incident", "Service Request"], "fields": {"region": "EU"}},
    )

    assert select_policy([spec], _ticket(type="service request", fields={"region": "eu"}), "jira-emea") is spec
    assert select_policy([spec], _ticket(type="Incident", fields={"region": "US"}), "jira") is None
    assert select_policy([spec], _ticket(type="Incident", fields={"region": "EU"}), "servicenow") is None
    assert select_policy([spec], _ticket(type="Incident"), "jira") is None


def test_list_valued_fields_match_on_any_item() -> None:
    spec = _policy("p", match={"fields": {"labels": ["vip"]}})

    assert select_policy([spec], _ticket(fields={"labels": ["new", "vip"]}), "api") is spec


def test_no_policy_matches() -> None:
    assert select_policy([_policy("p", match={"tier": "gold"})], _ticket(tier="silver"), "api") is None


def test_first_matching_row_that_sets_the_metric() -> None:
    spec = parse_policy(
        {
            "name": "p",
            "targets": [
                {"tier": "gold", "priority": ["P1", "P2"], "first_response": {"target": "15m"}},
                {"priority": "P1", "first_response": {"target": "1h"}, "resolution": {"target": "4h"}},
                {"first_response": {"target": "8h"}, "resolution": {"target": "40h"}},
            ],
        },
        [],
    )

    def target(metric: str, **ticket: Any) -> int | None:
        found = select_target(spec, _ticket(**ticket), metric)
        return None if found is None else found.target

    assert target("first_response", tier="gold", priority="P2") == 900
    assert target("resolution", tier="gold", priority="P2") == 40 * 3600  # row 0 sets no resolution
    assert target("first_response", tier="silver", priority="P1") == 3600
    assert target("first_response") == 8 * 3600
    assert target("next_response") is None
