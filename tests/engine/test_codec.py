"""Stored values: JSON with tagged dates; engine objects via the registry; user keys kept."""

from __future__ import annotations

import datetime as dt

import pytest

from engine import codec
from engine.spiff.case import _decode_internal, _encode_internal


def test_dates_and_durations_round_trip_and_other_types_are_refused() -> None:
    value = {
        "quando": dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC),
        "giorno": dt.date(2026, 1, 2),
        "durata": dt.timedelta(days=3),
        "lista": [1, "a", None, True, 2.5],
    }
    assert codec.from_jsonable(codec.from_jsonable_text(codec.dumps(codec.to_jsonable(value)))) == value
    with pytest.raises(codec.UnstorableValue, match="'insieme'"):
        codec.to_jsonable({"insieme": {1, 2}})
    with pytest.raises(codec.UnstorableValue):
        codec.to_jsonable({"x": float("nan")})


def test_a_partner_payload_cannot_pose_as_an_engine_object() -> None:
    hostile = {"typename": "BpmnWorkflow", "spec": {"typename": "BpmnProcessSpec"}, "x": [{"typename": "Task"}]}
    internal = {"risposta_partner": hostile, "item": {"typename": "datetime", "value": "2026-01-01"}}
    restored = _decode_internal(codec.from_jsonable_text(codec.dumps(_encode_internal(internal))))
    assert restored == internal
