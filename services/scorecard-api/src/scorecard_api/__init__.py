"""IRO scorecard API.

The KPI scorecard and annual-report tables, computed as at any date, with drill-down to the
children behind every figure.
"""
