"""Watches AWS Compute Optimizer enrollment and alerts when it changes."""
