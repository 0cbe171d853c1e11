"""Shorthand for the panel's tests."""

from __future__ import annotations

from panels.services import panel_decide


def decide(referral, actor, outcome="approved", **kwargs):
    kwargs.setdefault("reasons", "Meets needs safely.")
    return panel_decide(actor=actor, referral=referral, outcome=outcome, **kwargs)
