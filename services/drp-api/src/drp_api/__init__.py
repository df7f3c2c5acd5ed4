"""IRO dispute resolution API.

The five-stage Dispute Resolution Process with working-day deadlines, escalation, outcomes and
the weekly tracker.
"""
