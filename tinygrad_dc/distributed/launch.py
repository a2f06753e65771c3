"""Finding and calling `mpiexec`, for tests, benchmarks and tools that start
a job themselves (users type `mpiexec -n 2 python script.py`).

The mpich wheel puts mpiexec in the scripts folder of the environment it is
installed in, which is not always on PATH (a virtual environment that was
not activated, `python -m pytest` from another shell): look there first.
"""
import os
import shutil
import sys
import sysconfig

# Open MPI refuses to start as root without these; MPICH ignores them
ROOT_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}


def find_mpiexec():
    """The path of mpiexec: beside this Python (where the mpich wheel puts
    it), in the user scripts folder, then on PATH; None when there is none."""
    folders = [sysconfig.get_path("scripts"), os.path.dirname(sys.executable)]
    try:
        folders.append(sysconfig.get_path("scripts", f"{os.name}_user"))
    except KeyError:
        pass
    for folder in folders:
        path = os.path.join(folder, "mpiexec")
        if folder and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return shutil.which("mpiexec")


def mpiexec_command(nprocs, args):
    """The argv that runs `args` (e.g. [sys.executable, "script.py"]) as
    `nprocs` MPI processes; a clear error when no mpiexec is installed."""
    mpiexec = find_mpiexec()
    if mpiexec is None:
        raise RuntimeError('mpiexec was not found: pip install "tinygrad_dc[dist]" installs '
                           'mpi4py and the mpich wheel, which brings mpiexec')
    return [mpiexec, "-n", str(nprocs), *args]


def mpiexec_env(extra=None):
    """os.environ plus what lets an MPI start here as root, plus `extra`."""
    env = dict(os.environ)
    env.update(ROOT_ENV)
    env.update(extra or {})
    return env
