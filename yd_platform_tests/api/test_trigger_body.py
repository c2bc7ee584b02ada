"""Which task a trigger body asks for, and how a body is refused (the live requests are in
test_old_callers.py and test_hostile_ids.py)."""

from __future__ import annotations

import pytest
from fastapi.exceptions import RequestValidationError

from yd_platform.api.trigger_body import Refusal, parse_trigger, refuse_unknown_tags


@pytest.mark.parametrize("body, scope, mode, user_ids", [
    ({"tag_ids": [1, 2, 3]}, "task-tags", "full", None),
    ({"tag_ids": [1, 2, 3], "mode": "full"}, "task-tags", "full", None),
    ({"tag_ids": [1], "mode": None}, "task-tags", "full", None),
    ({"tag_ids": [1], "user_ids": []}, "task-tags", "full", []),
    ({"tag_ids": [1], "user_ids": ["u1"], "mode": "incremental"}, "task-users", "incremental", ["u1"]),
    ({"tag_ids": [1], "priority": "high"}, "task-tags", "full", None),        # unknown keys are ignored
    ({"tag_ids": [1.0]}, "task-tags", "full", None),                           # 1.0 was tag 1 to the old service
    ({"mode": "task-all"}, "task-all", "task-all", []),
    ({"mode": "task-users", "user_ids": ["v1 ", "V1"]}, "task-users", "task-users", ["v1 ", "V1"]),
])
def test_what_a_body_asks_for(body, scope, mode, user_ids):
    task = parse_trigger(body)
    assert (task.scope, task.mode, task.user_ids) == (scope, mode, user_ids)
    assert task.old_style == (mode in ("full", "incremental"))


@pytest.mark.parametrize("body, status, field", [
    ([1, 2], 400, "tag_ids"),
    ({"tag_ids": "1,2"}, 400, "tag_ids"),
    ({"tag_ids": [1], "mode": "fast"}, 400, "mode"),
    ({"tag_ids": [1], "today": "2025-13-01"}, 400, "today"),
    ({"tag_ids": [1], "user_ids": "u1"}, 400, "user_ids"),
])
def test_old_style_refusals_name_the_field(body, status, field):
    with pytest.raises(Refusal) as refused:
        parse_trigger(body)
    assert refused.value.status == status and refused.value.body["field"] == field
    assert refused.value.body["success"] is False


def test_unknown_tags_old_and_new_shapes():
    with pytest.raises(Refusal) as refused:
        refuse_unknown_tags(parse_trigger({"tag_ids": [1, 9]}), [1, 2])
    assert refused.value.body["error"] == "Invalid tag_ids: [9]" and refused.value.body["available_tag_ids"] == [1, 2]
    with pytest.raises(RequestValidationError) as invalid:
        refuse_unknown_tags(parse_trigger({"mode": "task-tags", "tag_ids": [9, 1]}), [1, 2])
    assert [e["loc"] for e in invalid.value.errors()] == [("body", "tag_ids", 0)]
    refuse_unknown_tags(parse_trigger({"tag_ids": [2]}), [1, 2])     # known: nothing raised


def test_integral_float_is_the_integer():
    assert parse_trigger({"tag_ids": [1.0, 3]}).tag_ids == [1, 3]
