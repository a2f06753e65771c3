"""Neural-network building blocks: Module, Parameter, layers, losses, init."""
from .parameter import Parameter  # noqa: F401
from . import functional  # noqa: F401
from .module import Module  # noqa: F401
from .containers import (Sequential, ModuleList, ModuleDict, ParameterList,  # noqa: F401
                         ParameterDict)
from .modules import *  # noqa: F401,F403
from . import init, parallel, utils  # noqa: F401
