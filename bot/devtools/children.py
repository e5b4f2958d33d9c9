"""Child processes that die with the test run or bench that started them (Linux ``PR_SET_PDEATHSIG``).

``subprocess.Popen(..., preexec_fn=die_with_parent(signal.SIGKILL))``: Linux sends the signal to the
child when the *thread* that started it ends, so start children from the main thread. Elsewhere
(no prctl) it does nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any


def _prctl() -> Any:
    with contextlib.suppress(Exception):
        import ctypes

        return ctypes.CDLL(None).prctl
    return None


_PRCTL = _prctl()  # looked up here: the forked child must not import anything
PR_SET_PDEATHSIG = 1


def die_with_parent(signal_number: int) -> Callable[[], None]:
    """A ``preexec_fn`` that makes the child receive ``signal_number`` when its parent dies."""

    def preexec() -> None:
        if _PRCTL is not None:
            _PRCTL(PR_SET_PDEATHSIG, signal_number)

    return preexec
