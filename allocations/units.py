"""How a plan line's amount reads: "14 hours × £16.50", "1 night × £95.00".

A line's unit is free text typed by the worker (PlanLine.unit: "hour", "session", "night",
sometimes already plural, "hours"), so the words are put in the number the quantity needs:
singular for exactly one, plural otherwise. Words the product does not know are pluralised
by the ordinary English rules; words that have no plural (equipment, support) stay as typed.
Text only: nothing here reads or saves records."""

from __future__ import annotations

from decimal import Decimal

from allocations.models import PlanLine
from allocations.selectors.budgets import gbp

# The units workers use, singular → plural, where the ordinary rules would not do or where a
# plural typed by the worker must become singular again for a quantity of one.
_PLURALS = {
    "hour": "hours",
    "hr": "hrs",
    "visit": "visits",
    "call": "calls",
    "week": "weeks",
    "day": "days",
    "half day": "half days",
    "night": "nights",
    "session": "sessions",
    "item": "items",
    "month": "months",
    "year": "years",
    "mile": "miles",
    "trip": "trips",
    "journey": "journeys",
    "meal": "meals",
    "class": "classes",
    "box": "boxes",
    "pair": "pairs",
    "person": "people",
    "place": "places",
    "block": "blocks",
    "break": "breaks",
    "stay": "stays",
}
_SINGULARS = {plural: singular for singular, plural in _PLURALS.items()}
# Words with no plural: a quantity of them reads the same.
_UNCOUNTABLE = {"equipment", "support", "care", "transport", "respite", "travel", "advice"}
# A unit such as "session at the day centre" or "hour of support": the word before these
# is the one that counts.
_LINKS = {"of", "at", "in", "with", "for", "per", "a", "an", "to"}


def _plural(word: str) -> str:
    lower = word.lower()
    if lower in _SINGULARS or lower in _UNCOUNTABLE:
        return word
    if lower in _PLURALS:
        return _keep_case(word, _PLURALS[lower])
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if lower.endswith("y") and len(lower) > 1 and lower[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _singular(word: str) -> str:
    lower = word.lower()
    return _keep_case(word, _SINGULARS[lower]) if lower in _SINGULARS else word


def _keep_case(typed: str, word: str) -> str:
    return word.capitalize() if typed[:1].isupper() else word


def unit_for(quantity: Decimal, unit: str) -> str:
    """The unit in the number the quantity needs: unit_for(14, "hour") == "hours",
    unit_for(1, "nights") == "night", unit_for(2, "session at the day centre") ==
    "sessions at the day centre"."""
    unit = " ".join(unit.split())
    if not unit:
        return ""
    if unit.lower() in _PLURALS or unit.lower() in _SINGULARS:  # a known unit of two words
        words, head = [unit], 0
    else:
        words = unit.split(" ")
        linked = [i for i, w in enumerate(words) if w.lower() in _LINKS and i > 0]
        head = linked[0] - 1 if linked else len(words) - 1
    change = _singular if quantity == 1 else _plural
    words[head] = change(words[head])
    return " ".join(words)


def quantity_text(quantity: Decimal) -> str:
    """14 → "14", 7.50 → "7.5", 1250 → "1,250"."""
    return f"{quantity.normalize():,f}"


def amount_text(quantity: Decimal, unit: str, unit_cost_gbp: Decimal) -> str:
    """A line's amount as people read it: "14 hours × £16.50"."""
    units = unit_for(quantity, unit)
    cost = gbp(unit_cost_gbp)
    return f"{quantity_text(Decimal(quantity))}{' ' + units if units else ''} × {cost}"


def line_amount_text(line) -> str:
    """A plan line's (or its history record's) amount and how often: "14 hours × £16.50 per
    week", "1 item × £85.00 one-off"."""
    frequency = PlanLine.Frequency(line.frequency).label
    return f"{amount_text(line.quantity, line.unit, line.unit_cost_gbp)} {frequency}"
