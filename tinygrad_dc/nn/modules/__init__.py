"""The layers, one kind per submodule; this file only re-exports."""
from . import activation, conv, dropout, flatten, linear, loss, normalization, pooling, sparse
from .activation import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .flatten import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403

__all__ = [name for m in (activation, conv, dropout, flatten, linear, loss, normalization,
                          pooling, sparse) for name in m.__all__]
