"""What the designs in force do to a case's steps while the engine runs it: an approval matrix's approvals,
delegation while a whole role is away, reminders and escalation of waiting work, automation with retries and an
exception queue or a dead letter, and AI triage with review and rework."""

from __future__ import annotations

import random
from collections.abc import Generator
from math import inf
from typing import Any

import simpy

from simulation.calendars import WorkingTime
from simulation.case_draws import Case
from simulation.kernel import Environment
from simulation.spec import AiTriage, ApprovalMatrix, Automation, Delegation, Escalation
from simulation.staff import SYSTEM, Pool, Task

REVIEW_PREFIX = "Review: "  # manual review of an AI decision below the threshold: "Review: <activity>"
EXCEPTION_PREFIX = "Handle exception: "


class DesignSteps:
    """The designs' steps as methods of the engine's simulation, which inherits them.

    They use the simulation's state below and its methods `record`, `draw`, `visit`, `perform` and `manual`.
    """

    env: Environment
    pools: dict[str, Pool]  # by role
    working: dict[str, WorkingTime]  # by role
    policies: dict[str, dict[str, Any]]  # by kind, then by the activity or role they apply to

    def approvals(self, case: Case, rng: random.Random, matrix: ApprovalMatrix,
                  visits: dict[str, int]) -> Generator[simpy.Event, Any, bool]:
        """Approve by the matrix: a system approval below the threshold, else the band's approvals in turn."""
        value = case.attributes.get(matrix.attribute)
        if matrix.auto_below is not None and value is not None and value < matrix.auto_below:
            now = self.env.now
            self.record(case, matrix.auto_activity, now, now, SYSTEM, SYSTEM,
                        {"rule": f"{matrix.attribute} < {matrix.auto_below:g}"}, "system")
            return True
        bands = sorted(matrix.bands, key=lambda b: b.min_value)
        # A value below every band takes the lowest; a missing value the highest (the strictest).
        band = bands[-1] if value is None else next((b for b in reversed(bands) if b.min_value <= value), bands[0])
        for activity in band.approvals:
            if not self.visit(case, activity, visits):
                return False
            if not (yield from self.perform(case, rng, activity)):
                return False
            # The routing draw the activity's own decision would have taken: a matrix that keeps the as-is
            # approvals then leaves the case's later draws (durations, delays) where they were, so common random
            # numbers pair the rest of the case exactly.
            rng.random()
        return True

    def watch(self, pool: Pool, delegation: Delegation) -> Generator[simpy.Event, Any, None]:
        """Whenever the whole role goes away (off shift or absent) for longer than `after_h`, hand the tasks
        already waiting to the delegate `after_h` after the role went away (new tasks: see maybe_delegate)."""
        env, wait = self.env, delegation.after_h * 3600
        while True:
            now = env.now
            ends = [e for e in (w.time.shift_end(now) for w in pool.workers) if e is not None]
            if ends:
                # Someone is at work: look again when the last of them leaves (others may arrive meanwhile).
                yield env.timeout(max(ends) - now)
                continue
            back = min((w.time.next_working(now) for w in pool.workers), default=inf)
            if back - now > wait:
                for task in pool.queue:
                    if task.pool is pool and not task.taken and not task.delegating:
                        task.delegating = True
                        env.process(self.delegate(task, pool, delegation, wait))
            if back == inf:
                return
            yield env.timeout(back - now)

    def maybe_delegate(self, task: Task) -> None:
        """Hand the task to the delegate role after `after_h` when nobody of its role works before then."""
        pool = task.pool
        delegation = self.policies["delegation"].get(pool.role.name)
        if delegation is None:
            return
        now = self.env.now
        if pool.anyone_at_work(now):
            return
        back = min((w.time.next_working(now) for w in pool.workers), default=inf)
        wait = delegation.after_h * 3600
        if back - now > wait and not task.delegating:
            task.delegating = True
            self.env.process(self.delegate(task, pool, delegation, wait))

    def delegate(self, task: Task, pool: Pool, delegation: Delegation,
                 wait: float) -> Generator[simpy.Event, Any, None]:
        """After `wait` seconds, move the task (if still waiting in `pool`) to the delegate's queue."""
        if wait > 0:
            yield self.env.timeout(wait)
        task.delegating = False
        if task.taken or task.pool is not pool:
            return
        task.attributes = (task.attributes or {}) | {"delegated_from": pool.role.name}
        self.pools[delegation.delegate].put(task)

    def escalate(self, task: Task, escalation: Escalation) -> Generator[simpy.Event, Any, None]:
        """Send a reminder and then escalate (and reassign) the task while it keeps waiting."""
        env, case = self.env, task.case
        working = self.working[task.pool.role.name] if escalation.business_hours else None

        def due(hours: float) -> float:
            return working.add_working(task.ready, hours * 3600) if working else task.ready + hours * 3600

        timers = [(due(h), k) for h, k in ((escalation.remind_after_h, "reminder"),
                                           (escalation.escalate_after_h, "escalation")) if h is not None]
        for at, kind in sorted(timers):
            if at == inf:
                return
            if at > env.now:
                yield env.timeout(at - env.now)
            if task.taken:
                return
            now = env.now
            if kind == "reminder":
                self.record(case, escalation.reminder_activity, now, now, SYSTEM, SYSTEM,
                            {"waiting_for": task.activity}, "reminder")
                continue
            target = escalation.escalate_to
            self.record(case, escalation.escalation_activity, now, now, SYSTEM, SYSTEM,
                        {"waiting_for": task.activity} | ({"to": target} if target else {}), "escalation")
            if target is not None and target != task.pool.role.name:
                task.attributes = (task.attributes or {}) | {"reassigned_from": task.pool.role.name}
                self.pools[target].put(task)
                self.maybe_delegate(task)

    def automated(self, case: Case, rng: random.Random, name: str, automation: Automation,
                  attributes: dict | None) -> Generator[simpy.Event, Any, bool]:
        """Run the system step with retries and doubling back-off; exhausted: exception queue or dead letter."""
        env = self.env
        for attempt in range(automation.retries + 1):
            duration = self.draw(automation.duration, rng)
            failed = rng.random() < automation.failure_rate
            start = env.now
            if duration > 0:
                yield env.timeout(duration)
            self.record(case, name, start, env.now, SYSTEM, SYSTEM,
                        (attributes or {}) | {"attempt": attempt + 1, "outcome": "failed" if failed else "ok"},
                        "system")
            if not failed:
                return True
            if attempt < automation.retries and automation.backoff_s > 0:
                yield env.timeout(automation.backoff_s * 2 ** attempt)
        if automation.exception_role is not None:
            activity = automation.exception_activity or f"{EXCEPTION_PREFIX}{name}"
            yield self.manual(case, activity, automation.exception_role,
                              self.draw(automation.exception_duration, rng), None, "exception")
            return True
        now = env.now
        self.record(case, automation.dead_letter_activity, now, now, SYSTEM, SYSTEM, {"failed": name}, "dead_letter")
        case.stopped = "dead letter"
        return False

    def triaged(self, case: Case, rng: random.Random, name: str, triage: AiTriage,
                attributes: dict | None) -> Generator[simpy.Event, Any, None]:
        """Let the AI decide; below the threshold a person reviews, a wrong automatic decision is reworked."""
        env = self.env
        confidence = self.draw(triage.confidence, rng)
        duration = self.draw(triage.duration, rng)
        right = rng.random() < confidence  # calibrated: right with probability = confidence
        start = env.now
        if duration > 0:
            yield env.timeout(duration)
        review = confidence < triage.threshold
        self.record(case, name, start, env.now, SYSTEM, SYSTEM,
                    (attributes or {}) | {"confidence": round(confidence, 4),
                                          "routed": "review" if review else "automatic"}, "system")
        if review:
            yield self.manual(case, f"{REVIEW_PREFIX}{name}", triage.review_role,
                              self.draw(triage.review_duration, rng), None, "review")
        elif not right:
            yield self.manual(case, triage.misroute_activity, triage.misroute_role or triage.review_role,
                              self.draw(triage.misroute_duration, rng), None, "rework")
