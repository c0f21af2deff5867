"""The bottom floor: pieces every layer uses, and nothing of the package above it.

PRNG streams (one seed split into named JAX keys, NumPy generators seeded from
them), range and choice checks that raise one clear `ValueError`, row chunks
for walking N × V arrays, atomic file writes, BLAS/XLA thread settings and
the package version. It imports only NumPy and the standard library when it
loads (JAX and threadpoolctl when first used), so the command line can set
thread counts before anything starts JAX; every other floor of `simulations`
may import it, and it imports none of them (docs/design.md §3).
"""

from ._checks import MAX_CORPUS, MAX_COUNT, MAX_DIM, check_choice, check_choices, check_range, check_ranges
from ._chunks import CHUNK_ROWS, row_chunks
from ._files import (
    FILE_MODE,
    HOST,
    MARKS,
    MAX_JSON_BYTES,
    PDF_METADATA,
    PNG_METADATA,
    atomic_write,
    carries_mark,
    check_output_file,
    mark_html,
    printable,
    read_regular,
    write_text,
)
from ._hash import config_hash, to_dict
from ._keys import STREAMS, numpy_rng, streams
from ._progress import LineProgress, progress
from ._threads import limit_threads, thread_settings
from ._version import __version__

__all__ = [
    "CHUNK_ROWS",
    "FILE_MODE",
    "HOST",
    "MARKS",
    "MAX_JSON_BYTES",
    "PDF_METADATA",
    "PNG_METADATA",
    "LineProgress",
    "MAX_CORPUS",
    "MAX_COUNT",
    "MAX_DIM",
    "STREAMS",
    "__version__",
    "atomic_write",
    "carries_mark",
    "check_output_file",
    "check_choice",
    "check_choices",
    "check_range",
    "check_ranges",
    "config_hash",
    "limit_threads",
    "mark_html",
    "printable",
    "read_regular",
    "numpy_rng",
    "progress",
    "row_chunks",
    "streams",
    "thread_settings",
    "to_dict",
    "write_text",
]
