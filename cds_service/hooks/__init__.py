"""The service layer: resolve the request's data, build facts, run rules, render cards, record feedback.

Never imports Flask: the HTTP layer (`api/`) calls into it with validated wire models.
"""
