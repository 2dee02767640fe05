"""A variable that is not text is filled in as JSON, in prompts and assertion values: a
mapping was filled in as Python's repr, `{'active': True, 'manager': None}`, which no JSON
reader takes (fortieth probe)."""

from __future__ import annotations

import json
from pathlib import Path

from openscout.evals.loading import load_suite
from openscout.evals.scoring import score_generation


def test_a_mapping_or_list_is_filled_in_as_json(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "prompts: ['Return this JSON unchanged: {{payload}} {{tags}} {{n}} {{ok}} {{none}}']\n"
        "tests:\n"
        "  - vars:\n"
        "      payload: {name: Zoë, active: true, manager: null, score: 2.5}\n"
        "      tags: [a, 1]\n"
        "      n: 3\n"
        "      ok: false\n"
        "      none: null\n"
        "    assert:\n"
        "      - {type: equals, value: '{{payload}}'}\n"
        "      - {type: is-json}\n"
    )
    (item,) = load_suite(path).items
    payload = '{"name": "Zoë", "active": true, "manager": null, "score": 2.5}'
    assert item.prompt == f'Return this JSON unchanged: {payload} ["a", 1] 3 false null'
    assert item.check_data["assertions"][0]["value"] == payload
    assert json.loads(payload) == item.check_data["vars"]["payload"]
    # a model that returns it unchanged passes both
    assert score_generation(item, payload).value == 1.0
