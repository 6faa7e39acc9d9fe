"""The engine's fast simpy environment (Environment) and its light events (Call): simpy's event loop written out,
running the events in simpy's order; it reads simpy 4.1 internals (the event queue and its sequence counter), which
pyproject.toml pins."""

from __future__ import annotations

from collections.abc import Callable, Generator
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.core import NORMAL, URGENT


class Call:
    """An event as the run loop sees it: the callbacks to run in its place in the event order, and its value.

    Lighter than a simpy.Event (no environment, no scheduling method, no property lookups): it is triggered by
    pushing it with its key onto the environment's queue. Processes wait on it as on any event (not in simpy's
    conditions, all_of/any_of, which the engine does not use).
    """

    __slots__ = ("callbacks", "_ok", "_value")

    def __init__(self, callbacks: list[Callable[[Any], None]], value: Any = None) -> None:
        self.callbacks: list[Callable[[Any], None]] | None = callbacks
        self._ok = True
        self._value = value


class _Process(simpy.Event):
    """A generator run as simpy's Process runs it (started by an urgent event now, resumed by the events it yields),
    with less bookkeeping: its end is an event only when something waits for it.

    The events it yields are all triggered normally (the engine fails none), so there is nothing to throw in.
    """

    def __init__(self, env: Environment, generator: Generator[Any, Any, Any]) -> None:
        self.env = env
        self.callbacks = []
        self._value = simpy.events.PENDING
        self._generator = generator
        self._send = generator.send
        self._resume_it = self._resume
        # simpy's Initialize: urgent, so the process starts before this moment's normal events.
        heappush(env._queue, (env._now, URGENT, next(env._eid), Call([self._resume_it])))

    def _resume(self, event: Any) -> None:
        send = self._send
        try:
            while True:
                event = send(event._value)
                callbacks = event.callbacks
                if callbacks is not None:
                    callbacks.append(self._resume_it)
                    return
        except StopIteration as stop:
            self._ok, self._value = True, stop.value
            # simpy schedules every process's end; an end nobody waits for changes nothing, so it is left out
            # (leaving out a sequence number keeps the order of all the others).
            if self.callbacks:
                self.env.schedule(self)
            else:
                self.callbacks = None


class Environment(simpy.Environment):
    """A simpy environment whose `run(until=seconds)` is simpy's loop written out, in simpy's event order.

    Its processes (_Process), timeouts and the engine's own events (Call) are lighter than simpy's: about a third
    of a run was simpy's per-event overhead. The order is simpy's: time, priority, sequence number.
    """

    def process(self, generator: Generator[Any, Any, Any]) -> _Process:  # type: ignore[override]
        """Start `generator` as a process now (as simpy.Environment.process)."""
        return _Process(self, generator)

    def timeout(self, delay: float = 0, value: Any = None) -> Call:  # type: ignore[override]
        """Return an event that happens `delay` seconds from now (as simpy.Environment.timeout)."""
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        event = Call([], value)
        heappush(self._queue, (self._now + delay, NORMAL, next(self._eid), event))
        return event

    def call_at(self, at: float, callback: Callable[[Any], None], value: Any = None) -> None:
        """Run `callback` at second `at` exactly (not now plus a delay, whose float sum may miss `at`)."""
        heappush(self._queue, (at, NORMAL, next(self._eid), Call([callback], value)))

    def run(self, until: float | simpy.Event | None = None) -> Any:
        """Process the events before second `until` in order, then stand at `until`; anything but a number of
        seconds runs simpy's own loop."""
        if until is None or isinstance(until, simpy.Event):
            return super().run(until)
        at = float(until)
        if at <= self._now:
            raise ValueError(f"until ({at}) must be greater than the current simulation time")
        queue = self._queue
        # simpy's until event is urgent: events at `until` itself are left for the next run.
        while queue and queue[0][0] < at:
            now, _, _, event = heappop(queue)
            self._now = now
            callbacks, event.callbacks = event.callbacks, None
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                exc = type(event._value)(*event._value.args)
                exc.__cause__ = event._value
                raise exc
        self._now = at
        return None
