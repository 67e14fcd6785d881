"""SIGINT / SIGTERM as a request to stop: the current step finishes, then the loop checkpoints and returns."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def stop_on_signals(request_stop: Callable[[], bool]) -> Iterator[None]:
    """While inside, the first SIGINT/SIGTERM calls `request_stop` (which returns whether a stop was already
    requested); a second one aborts with KeyboardInterrupt. Outside the main thread signals cannot be caught:
    then this does nothing."""

    def handler(signum, frame):
        if request_stop():
            raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
