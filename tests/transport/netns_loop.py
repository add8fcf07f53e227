"""Run an asyncio program in its own thread inside a network namespace, the way a SECC or EV process would."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import TypeVar

from tests.netns import in_netns

T = TypeVar("T")


def run_in_netns(netns: str, program: Callable[[], Awaitable[T]]) -> Future[T]:
    result: Future[T] = Future()

    def thread() -> None:
        try:
            with in_netns(netns):
                result.set_result(asyncio.run(program()))  # type: ignore[arg-type]
        except BaseException as err:  # handed to the test through the future
            result.set_exception(err)

    threading.Thread(target=thread, name=f"netns-{netns}", daemon=True).start()
    return result
