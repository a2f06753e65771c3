"""`python -m benchmarks`: see benchmarks/run.py."""
import sys

from benchmarks import threads
from benchmarks.run import main, parse_args

# the BLAS and OpenMP pools size themselves when NumPy and torch load, so the
# thread count goes into the environment before anything imports them
threads.set_environment(parse_args(sys.argv[1:]).threads)
main()
