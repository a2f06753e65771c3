"""Differentiable operations, one `Op` subclass each, grouped by kind."""
