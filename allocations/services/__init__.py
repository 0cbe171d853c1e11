"""Writes and state transitions of allocations, one module per capability: policies, budgets,
plans, repricing, letters, letter_batches. Import from the module, e.g.
`from allocations.services.plans import plan_submit`."""
