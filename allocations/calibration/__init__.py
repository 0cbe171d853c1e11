"""Calibration: set the price per point and the weightings from evidence (issue 11).

Pure arithmetic, like the engine: nothing here imports Django or any app module but
`allocations.engine` (tests/allocations/calibration/test_no_django.py walks the imports).
Callers import from the capability module:

- `samples`: read a sample of existing cases (CSV or XLSX) into `SampleCase`s, refusing a bad
  file whole with a row-numbered report (`SampleInvalid`).
- `fitting`: the price per point by ratio of totals, least squares through the origin, least
  squares with an intercept, or the median ratio; the statistics of the fitted (or the
  policy's) allocations against current cost, overall, by client group and by band of points.
- `weights`: a non-negative fit of cost on points by section, with k-fold cross-validation.
- `affordability`: the price that spends a weekly budget to the penny, a sensitivity table,
  and scale-up from the sample to the caseload.

Shares (within ±10%/±20%, MAPE) are fractions 0..1; prices and statistics are rounded to 4
decimal places, half up; allocations to pennies.
"""
