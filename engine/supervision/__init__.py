"""Supervision of running cases: finding the ones that wait for nothing and saying so."""

from engine.supervision.stalls import STALLED, StalledCase, record_new_stalls, stalled_cases

__all__ = ["STALLED", "StalledCase", "record_new_stalls", "stalled_cases"]
