"""Rank 1 raises while rank 0 waits in a collective that rank 1 will never
join: the job must end with a non-zero status (the abort hook), not hang."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import tinygrad_dc as tg  # noqa: E402
import tinygrad_dc.distributed as dist  # noqa: E402

dist.init_process_group("mpi")
t = tg.ones(3)
dist.all_reduce(t)  # both ranks get here: the job really runs
if dist.get_rank() == 1:
    raise ValueError("deliberate failure on rank 1")
dist.all_reduce(t)  # rank 0 would wait here forever
print("rank 0 got past a collective that rank 1 never joined", flush=True)
