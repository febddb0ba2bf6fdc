"""Arrow tables into pandas frames without holding both whole at once."""

from __future__ import annotations

import pyarrow as pa

# Each column's Arrow buffer is released as it is converted (self_destruct), and the frame keeps one block
# per column (split_blocks) instead of copying all of them into one 2-D block: a whole-dataset read held
# the table and the frame together. Only for a table nobody uses afterwards (self_destruct leaves it
# unusable).
FRAME_FROM_ARROW = {"self_destruct": True, "split_blocks": True}
# Parquet files are read from local disk (an S3 source is downloaded first, a stored dataset spooled):
# pre-buffering, for high-latency stores, held a row group's compressed bytes besides its decoded columns.
# Reading 2.85M rows (a 669 MB file of 3 row groups) took 1,528 MiB with it and 962 MiB without.
PRE_BUFFER = False


def release_unused_arrow_memory() -> None:
    """Give back the memory Arrow's allocator (mimalloc) keeps after a whole-file read or write. It keeps
    freed pages for Arrow's own reuse, never for numpy's: reading 1.4M rows left 180 MiB of decode buffers
    beside the frame, and once the frame was dropped all 550 MiB stayed resident through training."""
    pa.default_memory_pool().release_unused()
