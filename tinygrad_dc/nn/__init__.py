"""Neural-network building blocks: Module, Parameter, layers, losses, init."""
from .parameter import Parameter  # noqa: F401
from . import functional  # noqa: F401
