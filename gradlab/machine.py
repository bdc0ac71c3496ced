"""What this machine can hold: its physical memory, for refusing work that cannot fit before
anything is allocated (a MemoryError half-way, or the kernel's OOM killer, is no message)."""

from __future__ import annotations

import os


def physical_memory() -> int | None:
    """Bytes of physical memory, or None where the system does not say (no ``sysconf``: Windows)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
