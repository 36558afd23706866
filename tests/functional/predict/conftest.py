"""The predict handler fixture for this folder."""

from tests.support.predict_app import predict_app

__all__ = ["predict_app"]
