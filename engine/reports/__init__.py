"""Aggregate, anonymous figures computed from the cases (no personal data ever leaves here)."""

from engine.reports.overview import AmbitoFigures, ambito_overview

__all__ = ["AmbitoFigures", "ambito_overview"]
