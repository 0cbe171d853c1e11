"""Reads of allocations, scoped to the user asking, one module per capability: policies,
budgets, plans, repricing, letters. Import from the module, e.g.
`from allocations.selectors.plans import plan_get_for_user`."""
