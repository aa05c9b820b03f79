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


@pytest.mark.parametrize(
    "value, expected",
    [
        # Review of #8: a script's `x = 10**5000` or `x = 9**(9**7)` came back as Python's
        # «Exceeds the limit (4300 digits) for integer string conversion…», with no variable.
        ({"x": 10**5000}, "il numero nella variabile «x» ha più di 4300 cifre e non si può salvare"),
        ({"x": 9 ** (9**7)}, "il numero nella variabile «x» ha più di 4300 cifre e non si può salvare"),
        ({"a": {"b": [1, -(10**5000)]}}, "il numero nella variabile «a.b[1]» ha più di 4300 cifre"),
        # `x = chr(0xd800)`: «'utf-8' codec can't encode…».
        ({"x": chr(0xD800)}, "il testo nella variabile «x» contiene un carattere non valido"),
        ({"a": [{"b": "ok" + chr(0xDFFF)}]}, "il testo nella variabile «a[0].b» contiene un carattere non valido"),
    ],
)
def test_values_python_cannot_write_as_json_text_are_refused_naming_the_variable(value, expected: str) -> None:
    with pytest.raises(codec.UnstorableValue) as err:
        codec.to_jsonable(value)
    assert expected in str(err.value)


def test_big_numbers_and_any_unicode_within_the_limits_are_kept() -> None:
    value = {"n": 10**4000, "t": "perché 😀"}
    assert codec.from_jsonable(codec.to_jsonable(value)) == value
