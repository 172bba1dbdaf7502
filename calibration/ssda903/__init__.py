"""An authority's SSDA903 returns: reading, cleaning, counting, estimating, and synthetic returns.

`reader` reads the files (a folder per year, or pooled files with LA and YEAR); `cleaning` cleans
them as the demand models do; `counts` counts as the DfE's national tables; `estimates` turns a
return into the inputs of a local model (`LocalEstimates`); `synth` writes synthetic returns from
the model's journey log; `privacy` suppresses small counts in everything shown. Identifiers from
a return (CHILD, UPN, DOB, postcodes, URN) stay in memory and reach no output.
"""
import os as _os

if "ARROW_DEFAULT_MEMORY_POOL" not in _os.environ:  # a user's choice stands
    import pyarrow as _pa

    # Reading a return is mostly pandas' arrow-backed strings, allocated from pyarrow's default
    # pool (mimalloc). Measured on the 2-core machine (cold process, the 150-authority benchmark
    # region read and cleaned): 1.74-2.27 s of CPU with mimalloc, 1.29-1.40 s with the system
    # allocator (glibc's, which numpy uses anyway), and 1.04-1.29 s against 0.78-0.91 s per half
    # on two Dask workers at once (under the nanny's MALLOC_TRIM_THRESHOLD_, before reading tuned
    # glibc: sim/allocator.py). With glibc tuned, a half of it in each of two processes took
    # 0.39-0.53 s with the system allocator and 0.41-0.65 s with mimalloc. So the process's default
    # pool is the system allocator; it changes how memory is obtained, never a value.
    _pa.set_memory_pool(_pa.system_memory_pool())
