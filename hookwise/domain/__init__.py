"""Pure values of hookwise: ids, models, errors, retry schedules, signing.

Nothing in here imports any other part of hookwise.
"""
