"""Signals that apps built on allocations (panels) listen to; allocations never imports them."""

from django.dispatch import Signal

# Sent inside plan_submit's transaction when a plan goes to the risk enablement panel, with
# `plan`, `reasons` (list of plain-English reasons) and `actor`.
plan_referred_to_panel = Signal()

# Sent inside a transaction when a plan waiting at the panel leaves it before a decision (its
# indicative budget changed or ended), with `plan`, `reason` (plain English) and `actor`.
plan_withdrawn_from_panel = Signal()
