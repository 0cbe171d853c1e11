"""Reports for managers and cabinet (issue 12): take-up, the pipeline, money, the panel's work
and fairness, on screen, exported (CSV, XLSX) and as the members' PDF pack.

- `scope`: who may see reports, and the filters (period, team, client group) as one
  ReportScope that every report reads.
- `tables`: the one shape every report returns (Table), and the registry of report sections
  (allocations' own; panels registers its section in its AppConfig.ready).
- `exports`: a Table as CSV or XLSX, safe against spreadsheet formula injection.
"""
