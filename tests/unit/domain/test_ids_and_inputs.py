"""The domain's checks of what comes from outside: ML ids, text, JSON documents, instants."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector_core.domain import ids
from connector_core.domain.errors import InvalidInput
from connector_core.domain.inputs import in_window, json_problem, shown, text_problem


@pytest.mark.parametrize("good", ["MLA1", "MLB1234567890", "MCO" + "9" * 61])
def test_item_ids(good: str) -> None:
    assert ids.is_item_id(good) and ids.item_id(good) == good


@pytest.mark.parametrize("bad", ["../../users/me?x=", "MLA1/../x", "MLA1,MLA2", "MLA1?x=1",
                                 "mla1", "ML1", "MLAX1", "MLA", "MLA\u0663", "MLA\u00b2", "",
                                 " MLA1", "MLA1\n", "MCO" + "9" * 62, 1, None])
def test_what_is_not_an_item_id(bad: object) -> None:
    assert not ids.is_item_id(bad)
    with pytest.raises(InvalidInput, match="item_id: expected an ML item id"):
        ids.item_id(bad)


def test_numeric_ids() -> None:
    assert ids.order_id("2000003508419013") == 2000003508419013
    assert ids.order_id(2**63 - 1) == 2**63 - 1 and ids.variation_id("1") == 1
    for bad in ("\u00b2", "\u0663", "0", 0, -1, 2**63, str(2**63), "1.0", "1e3", " 1", True,
                None, 1.0, "0x10"):
        assert not ids.is_numeric_id(bad), bad
        with pytest.raises(InvalidInput, match="order_id: expected an ML order id"):
            ids.order_id(bad)


def test_text_that_cannot_be_stored_or_logged() -> None:
    assert text_problem("MUG-01 ñandú 漢字 😀") is None
    assert text_problem("a\x00b") == "contains a NUL character"
    assert "lone surrogate" in (text_problem("a\ud800") or "")


@pytest.mark.parametrize(("value", "problem"), [
    ({"a": [1, "x", None, True, 1.5]}, None),
    ({"a": float("nan")}, "not finite"),
    ([float("inf")], "not finite"),
    ({"k\udc00": 1}, "lone surrogate"),
    (["\ud800"], "lone surrogate"),
    ({"a": object()}, "not a JSON document"),
])
def test_json_documents(value: object, problem: str | None) -> None:
    found = json_problem(value)
    assert found is None if problem is None else problem in (found or "")


def test_depth_is_bounded_and_never_recursed() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    assert json_problem(deep) == "is nested deeper than 32 levels"
    assert json_problem(deep, brackets=1) is not None  # the dump fails too: still refused
    assert shown(deep) == "[[[[...]]]]"
    circular: list[object] = []
    circular.append(circular)
    assert json_problem(circular) == "is nested deeper than 32 levels"


def test_the_sane_window() -> None:
    assert in_window(datetime(2026, 11, 23, 12, tzinfo=UTC))
    assert in_window(datetime(2000, 1, 1, tzinfo=UTC))
    assert not in_window(datetime(1999, 12, 31, 23, 59, tzinfo=UTC))
    assert not in_window(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))))
    assert not in_window(datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))))


@given(st.text(st.characters(exclude_categories=()), max_size=200))
def test_shown_is_short_and_printable(value: str) -> None:
    text = shown(value)
    assert len(text) <= 70 and text_problem(text) is None
