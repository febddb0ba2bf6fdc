"""The prediction-log wrapper that tells the FeedbackStore which transaction ids were
scored (queued in preallocated columns, indexed on a background thread). The stores themselves live with
their vendor: sqlite/ and redis/.
"""
