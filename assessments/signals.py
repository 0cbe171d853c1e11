"""Signals other apps listen to, so that assessments never imports them (HOUSE STYLE §2b)."""

from django.dispatch import Signal

# Sent inside assessment_submit's transaction, after the assessment is submitted, with
# `assessment` and `actor`. A receiver that raises rolls the submission back.
assessment_submitted = Signal()
