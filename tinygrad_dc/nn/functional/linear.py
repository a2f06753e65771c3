"""nn.functional: linear (being written)."""
__all__ = []
