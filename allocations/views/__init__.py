"""Pages of allocations, one module per capability: rules, policies, repricing, budgets (and
decisions on lower figures), plans, letters, letter_batches, and person_page (the budget
section of a person's page)."""
