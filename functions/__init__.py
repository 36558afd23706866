"""Lambda function sources; packages only so tests and the local stack can import handlers."""
