"""Compiling a kernel with numba when it is there: one function for the simple kernels.

A kernel is written once, in the subset of Python numba compiles; :func:`compiled`
gives it compiled (``@njit(cache=True)``, the cache in ``__pycache__``), or None
without numba or with ``NUMBA_DISABLE_JIT=1``, and the caller takes its numpy path.
numba is imported on the first call, not with duolm.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = ["compiled", "interruptible"]

_F = TypeVar("_F")


@contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) until the block ends, then raise KeyboardInterrupt.

    Only in the main thread and only while Python's own handler is installed
    (a program that set its own keeps it).
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    received: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if received:
        raise KeyboardInterrupt


def interruptible(dispatcher: _F) -> _F:
    """Let Ctrl-C during a kernel's compilation stop the call (issue 14, item 13).

    numba compiles on a kernel's first call with new argument types, partly in
    ctypes callbacks (LLVM's object cache): a KeyboardInterrupt raised there is
    printed as "Exception ignored" and the call goes on to its result. The
    dispatcher's compile-and-call step (``_compile_for_args``, what numba calls when
    no compiled version fits) holds the signal and raises KeyboardInterrupt as soon
    as it ends, before anything uses the result. A compiled kernel cannot be
    interrupted while it runs anyway; calls that find their version compiled do not
    pass here.
    """
    step = getattr(dispatcher, "_compile_for_args", None)
    if step is None:  # not a numba dispatcher (numba absent, or JIT disabled)
        return dispatcher

    def held(*args: Any, **kwargs: Any) -> Any:
        with _sigint_held():
            return step(*args, **kwargs)

    dispatcher._compile_for_args = held  # type: ignore[attr-defined]
    return dispatcher


def compiled(source: Callable[..., Any], fastmath: bool = False) -> Callable[..., Any] | None:
    """``source`` compiled by numba (cached on disk when it can be), or None.

    ``fastmath``: let sums be reassociated (their loops vectorise); NaN and inf
    still propagate (no ``nnan``/``ninf``).
    """
    try:
        import numba  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:  # pragma: no cover - numba is a dependency
        return None
    if getattr(numba.config, "DISABLE_JIT", False):
        return None
    options: dict[str, Any] = {"nogil": True, "error_model": "numpy"}
    if fastmath:
        options["fastmath"] = {"reassoc", "contract"}
    try:
        fn: Callable[..., Any] = numba.njit(cache=True, **options)(source)
    except RuntimeError:  # pragma: no cover - no writable cache folder
        fn = numba.njit(**options)(source)
    return interruptible(fn)
