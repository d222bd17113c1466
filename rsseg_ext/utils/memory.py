"""Process memory figures for the benchmarks (torch-free, Linux ``/proc`` with a portable fallback)."""
import resource

__all__ = ['peak_rss_mb']


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB. ``VmHWM`` belongs to the current address space (reset by
    exec and by ``/proc/self/clear_refs``); ``ru_maxrss`` can carry the parent's peak over a fork+exec, so it is
    only the fallback."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
