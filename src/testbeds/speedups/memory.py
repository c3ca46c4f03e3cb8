"""glibc keeping freed memory for reuse (``mallopt``): a speed-up for every framework on Linux."""

from __future__ import annotations


def keep_freed_memory() -> bool:
    """Have glibc keep freed blocks for reuse instead of returning each large one to the kernel.

    XLA's CPU runtime allocates and frees its buffers on every step; above glibc's mmap threshold each
    is a fresh mapping whose pages fault in again (docs/performance.md). It must run before the
    allocating threads start. Returns False where the C library has no ``mallopt`` (not glibc)."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
    return all(
        mallopt(option, value) == 1
        for option, value in ((M_MMAP_THRESHOLD, 32 << 20), (M_TRIM_THRESHOLD, 1 << 30), (M_TOP_PAD, 64 << 20))
    )
