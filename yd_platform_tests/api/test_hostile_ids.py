"""Odd ids are refused at the API, naming the field, and nothing reaches the instance:
old-style bodies in the old `{success, error, message}` shape with `field`, the new modes
as 422 with `detail[].loc` (real API, webserver and daemon)."""

from __future__ import annotations

import pytest

from yd_platform.api.trigger_body import MAX_TAG_IDS, MAX_USER_IDS
from yd_platform.tags.tables import USER_ID_LENGTH
from yd_platform_tests.api.conftest import ApiStack

pytestmark = pytest.mark.slow

ODD = [  # (what, tag_ids, user_ids, field)
    ("negative tag id", [-1], None, ["tag_ids", 0]),
    ("zero tag id", [1, 0], None, ["tag_ids", 1]),
    ("numeric string", ["1"], None, ["tag_ids", 0]),
    ("boolean", [True], None, ["tag_ids", 0]),
    ("fraction", [1.5], None, ["tag_ids", 0]),
    ("over 64 bits", [2**64 + 1], None, ["tag_ids", 0]),
    ("over the INT column", [2**31], None, ["tag_ids", 0]),
    ("too many tag ids", list(range(1, MAX_TAG_IDS + 2)), None, ["tag_ids"]),
    ("NUL in a user id", [1], ["b1", "b\x002"], ["user_ids", 1]),
    ("newline in a user id", [1], ["b1\n"], ["user_ids", 0]),
    ("DEL in a user id", [1], ["b\x7f"], ["user_ids", 0]),
    ("lone surrogate", [1], ["b\ud800"], ["user_ids", 0]),
    ("empty user id", [1], [""], ["user_ids", 0]),
    ("spaces only", [1], ["   "], ["user_ids", 0]),
    ("over-long user id", [1], ["u" * (USER_ID_LENGTH + 1)], ["user_ids", 0]),
    ("number as user id", [1], [12345], ["user_ids", 0]),
    ("too many user ids", [1], [f"u{i}" for i in range(MAX_USER_IDS + 1)], ["user_ids"]),
]


def _old_field(loc: list) -> str:
    return loc[0] + "".join(f"[{i}]" for i in loc[1:])


@pytest.mark.parametrize("what, tag_ids, user_ids, loc", ODD, ids=[o[0] for o in ODD])
def test_old_style_body_refused_with_the_field(api_stack: ApiStack, seeded, what, tag_ids, user_ids, loc):
    body = {"tag_ids": tag_ids, "mode": "full", **({"user_ids": user_ids} if user_ids is not None else {})}
    before = api_stack.run_ids()
    response = api_stack.post("/api/v1/tags/trigger", body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["success"] is False and answer["field"] == _old_field(loc)
    assert answer["error"].startswith(f"{_old_field(loc)}: ") and answer["message"]
    assert api_stack.run_ids() == before


@pytest.mark.parametrize("what, tag_ids, user_ids, loc", ODD, ids=[o[0] for o in ODD])
def test_new_mode_body_refused_with_the_field(api_stack: ApiStack, seeded, what, tag_ids, user_ids, loc):
    body = ({"mode": "task-users", "user_ids": user_ids, "tag_ids": tag_ids} if user_ids is not None
            else {"mode": "task-tags", "tag_ids": tag_ids})
    before = api_stack.run_ids()
    response = api_stack.post("/api/v1/tags/trigger", body)
    assert response.status_code == 422, response.text
    assert ["body", *loc] in [e["loc"] for e in response.json()["detail"]]
    assert api_stack.run_ids() == before


def test_unknown_tag_in_a_new_mode_names_it(api_stack: ApiStack, seeded):
    before = api_stack.run_ids()
    response = api_stack.post("/api/v1/tags/trigger", {"mode": "task-tags", "tag_ids": [101, 4242]})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "tag_ids", 1] and "4242" in error["msg"]
    assert 101 in error["ctx"]["available_tag_ids"]
    assert api_stack.run_ids() == before
