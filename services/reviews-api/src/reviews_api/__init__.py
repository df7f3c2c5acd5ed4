"""IRO reviews API.

Statutory review scheduling for looked after children: children, periods of care, legal status,
IROs and caseloads, reviews, visits, secure accommodation reviews, plan dates and intake from
case systems.
"""
