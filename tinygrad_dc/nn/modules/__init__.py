"""The layers, one kind per submodule; this file only re-exports."""
from . import (activation, attention, conv, dropout, flatten, linear, loss, normalization,
               pooling, rnn, sparse, transformer)
from .activation import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .flatten import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403

__all__ = [name for m in (activation, attention, conv, dropout, flatten, linear, loss,
                          normalization, pooling, rnn, sparse, transformer) for name in m.__all__]
