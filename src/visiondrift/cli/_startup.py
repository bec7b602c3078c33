"""What the command does first, before anything heavy (numpy, scipy) is imported.

BLAS threads: numpy and scipy load OpenBLAS (or MKL), which by default starts one thread per core
and keeps them spinning between calls. The command's linear algebra is made of many small calls
(the domain classifier's logistic regressions, kernel matrices of at most a few thousand rows),
and the profiling pass already keeps every core busy with worker processes. On a 2-core machine
shared with other jobs, the default threads made a comparison of 1,000 against 10,000 images 8x
slower (4.7 s instead of 0.56 s with one thread; ``benchmarks/compare_speed.py``, see
``benchmarks/RESULTS.md``), and a second thread can at best halve the few large products. So the
command runs BLAS with :data:`BLAS_THREADS` threads unless the user has chosen a thread count
through the usual environment variables. The Python API leaves the caller's process alone.

Exit: when the interpreter ends, it runs one last garbage collection over every object still
alive, which after scipy and scikit-learn have been imported took about 0.16 s of a 1.3 s
``monitor`` run. By then the command has closed its files and the interpreter flushes standard
output itself, so :func:`skip_final_collection` freezes the heap at exit instead
(:func:`gc.freeze`); exit handlers still run.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from collections.abc import MutableMapping
from typing import Final

__all__ = ["BLAS_THREADS", "BLAS_THREAD_VARIABLES", "limit_blas_threads", "skip_final_collection"]

#: Threads the command lets BLAS use, unless one of :data:`BLAS_THREAD_VARIABLES` is set.
BLAS_THREADS: Final = 1

#: Environment variables through which a user sets BLAS threads (OpenBLAS reads the first three,
#: in this order; MKL the last two). When any is set, the command changes none of them.
BLAS_THREAD_VARIABLES: Final = (
    "OPENBLAS_NUM_THREADS",
    "GOTO_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)

#: The variables the command sets when the user has set none.
_SET_BY_COMMAND: Final = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_blas_threads(environ: MutableMapping[str, str] | None = None) -> bool:
    """Let BLAS use :data:`BLAS_THREADS` threads unless the user chose a number.

    Only effective before numpy is first imported (BLAS reads the variables when it loads), so
    the command calls it first; worker processes inherit the setting. Returns whether the
    variables were set.
    """
    env = os.environ if environ is None else environ
    if any(env.get(name) for name in BLAS_THREAD_VARIABLES):
        return False
    if environ is None and "numpy" in sys.modules:
        return False  # too late to take effect; leave the process as it is
    for name in _SET_BY_COMMAND:
        env[name] = str(BLAS_THREADS)
    return True


def skip_final_collection() -> None:
    """Freeze the heap when the interpreter exits, so that no final collection walks it.

    Registered first, the handler runs after the exit handlers registered later (by
    multiprocessing, logging...), just before the interpreter's own clean-up.
    """
    atexit.register(gc.freeze)
