"""Recommend function (``app.py``: API handler for ``POST /recommendations``)."""
