"""Background jobs (django-tasks). `manage.py db_worker` runs them.

Each job is defined beside its body (allocations.services.repricing,
allocations.services.repricing_preview, allocations.services.letter_batches), so the services
that start a job enqueue it without importing this module and no job body imports it back
(tests/allocations/test_adapter.py checks). This module only gathers them: jobs queued under
their old paths (allocations.tasks.apply_repricing, …) still resolve here.
"""

from allocations.services.letter_batches import issue_letter_batch
from allocations.services.repricing import apply_repricing, apply_repricing_chunk
from allocations.services.repricing_preview import preview_repricing, preview_repricing_part

__all__ = [
    "apply_repricing",
    "apply_repricing_chunk",
    "issue_letter_batch",
    "preview_repricing",
    "preview_repricing_part",
]
