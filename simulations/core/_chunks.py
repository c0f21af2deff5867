"""Row chunks: walking N × V arrays a block of rows at a time, so no N × V temporary is made."""

from __future__ import annotations

#: Contexts handled at once by the computations that walk a world's N × V arrays row chunk by row chunk.
CHUNK_ROWS = 256


def row_chunks(n: int, size: int = CHUNK_ROWS) -> list[slice]:
    """Slices of `size` rows covering range(n), in order."""
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]
