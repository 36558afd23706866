"""Store errors: callers get a typed error they can report or retry, never a silent loss."""

from __future__ import annotations


class StoreError(RuntimeError):
    """A DynamoDB operation failed for a reason other than a normal conditional check."""

    retryable: bool = False


class StoreThrottledError(StoreError):
    """DynamoDB kept throttling after every backoff attempt; the write did NOT happen.

    Batch handlers treat it as a failed record (so SQS / the stream redelivers it); the scrape
    service counts the video as failed and marks the job retryable.
    """

    retryable = True

    def __init__(self, operation: str, attempts: int, code: str) -> None:
        super().__init__(f"DynamoDB {operation} throttled ({code}) after {attempts} attempts; nothing was written")
        self.operation = operation
        self.attempts = attempts
        self.code = code


class InvalidCursorError(ValueError):
    """A pagination cursor that this store did not produce (or for another topic)."""
