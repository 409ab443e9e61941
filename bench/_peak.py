"""``python bench/_peak.py MODULE ARGS...``: run MODULE as ``__main__`` and, at exit, write
its peak resident memory (``VmHWM`` of /proc/self/status, KiB) and the CPU seconds it used
to ``$PEAK_RSS_FILE``.

Not ``wait4``'s ``ru_maxrss``: Linux starts it from the parent's high-water mark at exec, so
every child of a large bench process would report the bench's own memory.
"""

import atexit
import os
import runpy
import sys


def _write() -> None:
    target = os.environ.get("PEAK_RSS_FILE")
    if not target:
        return
    with open("/proc/self/status", encoding="ascii") as status:
        peak = next((line.split()[1] for line in status if line.startswith("VmHWM:")), "0")
    times = os.times()
    with open(target, "w", encoding="ascii") as out:
        out.write(f"{peak} {times.user + times.system:.2f}")


if __name__ == "__main__":
    atexit.register(_write)
    module, sys.argv = sys.argv[1], sys.argv[1:]
    sys.path[0] = os.getcwd()  # as ``python -m`` does: the code of the working directory
    runpy.run_module(module, run_name="__main__", alter_sys=True)
