"""Training, evaluation and export (torch + transformers). Never imported on the serving path."""
