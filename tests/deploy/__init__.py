"""Deployment checks: template, images and sample events against the code (offline)."""
