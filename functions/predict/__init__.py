"""Predict function (``app.py``: API handler)."""
