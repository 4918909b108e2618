"""Background and scheduled jobs on huey.

Jobs are named handlers registered by the domains. A request or task *defers* a job on its
session; the job is handed to the queue only after that session commits and is dropped if it
rolls back. Every job run carries a key; a key that has run once is never run again, so a job
delivered twice (retry, duplicate enqueue, two workers) does its work once.

A job runs in one transaction with the claim of its key (``JobRunner.run``): its work commits with the
claim or not at all, and a failed run leaves the key free for huey's retry. A job registered with
``own_transactions=True`` instead gets the key claimed and committed first, and commits its own work,
in as many transactions as it likes (``session.commit()``): on SQLite the claim would otherwise hold the
database's write lock for the whole run, so work that writes through another connection (a Redis stream's
writer) would wait on it, and work that calls out (a push's HTTP send) would hold every writer back.
A failed run forgets its key again (what it committed stays: such a job's steps are safe to repeat); a
process killed during the run leaves the key taken, and the job's next scheduled run does the rest.
A job whose steps must not be repeated by its retry marks each step done in the step's own transaction
(``mark_step``: a key ``run/step`` of the run's key, which the retry keeps), and skips the steps marked.

A scheduled run's key is its schedule slot's (``name@YYYY-MM-DDTHH:MM``, the latest minute at or before
the run that its crontab matches: ``schedule_slot``), never the minute it happens to run in: every
scheduler queues its own copy (each ``serve --workers N`` process with in-process jobs, each worker
replica), and the copies of a slot run its work once however late they come. A copy not started
``PERIODIC_EXPIRES`` after it was queued is dropped. A copy queues the run itself on the deferred jobs'
task. A job registered with ``retry_scheduled=True`` (the daily ones, whose next slot is a day away) has a
failed scheduled run (a deadlock, a statement timeout) retried under its slot's key as a deferred job is
(5 times, 10 s apart); any other scheduled run is tried once: for a job that runs every minute or five the
next slot is the retry, and retrying it too would only multiply the load while the database is in trouble.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab
from huey.api import Huey
from huey.consumer import Consumer
from sqlalchemy import String, delete, event, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from neigou.kit import attempts, commit_hooks
from neigou.kit.clock import utcnow
from neigou.kit.db import Base, UTCDateTime
from neigou.kit.logging import error_summary
from neigou.kit.metrics import JOB_FAILURES
from neigou.kit.settings import Settings, use_settings
from neigou.kit.streams import namespace

log = structlog.get_logger(__name__)

JobHandler = Callable[[Session, dict[str, Any], datetime], None]
_PENDING = "neigou_pending_jobs"
_RUN_KEY = "neigou_job_run_key"


class JobRun(Base):
    """A job key that has completed; its presence makes re-delivery a no-op."""

    __tablename__ = "job_runs"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class JobSpec:
    """A registered job: its handler and, for scheduled jobs, a cron schedule (UTC)."""

    name: str
    handler: JobHandler
    cron: dict[str, str] = field(default_factory=dict)
    own_transactions: bool = False
    retry_scheduled: bool = False


REGISTRY: dict[str, JobSpec] = {}


def job(
    name: str,
    *,
    cron: dict[str, str] | None = None,
    own_transactions: bool = False,
    retry_scheduled: bool = False,
) -> Callable[[JobHandler], JobHandler]:
    """Register a job handler under ``name``; ``cron`` (huey crontab fields) schedules it;
    ``own_transactions``: its key is claimed and committed before it runs, and it commits its own work;
    ``retry_scheduled``: a failed scheduled run is retried as a deferred one is, not left to the next
    slot (for daily jobs only; see the module's docstring)."""

    def register(handler: JobHandler) -> JobHandler:
        REGISTRY[name] = JobSpec(
            name=name,
            handler=handler,
            cron=cron or {},
            own_transactions=own_transactions,
            retry_scheduled=retry_scheduled,
        )
        return handler

    return register


# Long past any redelivery (huey retries for under a minute), short enough that the table stays small.
JOB_RUNS_KEPT = timedelta(days=30)


@job("kit.purge_job_runs", cron={"minute": "53", "hour": "4"}, retry_scheduled=True)
def purge_job_runs(session: Session, _payload: dict[str, Any], at: datetime) -> None:
    """Forget the keys of runs finished more than ``JOB_RUNS_KEPT`` ago."""
    session.execute(delete(JobRun).where(JobRun.finished_at < at - JOB_RUNS_KEPT))


def run_key(session: Session) -> str | None:
    """The key of the run whose session this is (``JobRunner.run``); None outside a job. A retry of a
    failed run has the same key: a job whose steps commit one by one (``own_transactions``) marks each
    step done under it (``mark_step``), and its retry skips them."""
    run = session.info.get(_RUN_KEY)
    return str(run[1]) if isinstance(run, tuple) else None


def mark_step(session: Session, step: str, *, at: datetime) -> bool:
    """Mark ``step`` of the session's run done, in the session's transaction (it counts once that
    commits): False when a committed attempt of the run (a failed run's retry) already did it. Outside a
    job (no run key) every step is to do. The marks are job keys of their own (``run@step``), forgotten
    with the others (``purge_job_runs``)."""
    run = session.info.get(_RUN_KEY)
    if not isinstance(run, tuple):
        return True
    name, key = str(run[0]), f"{run[1]}/{step}"
    if session.get(JobRun, key) is not None:
        return False
    session.add(JobRun(key=key, name=name, finished_at=at))
    session.flush()  # a parallel run of the same key (none: the run's key is claimed) would wait here
    return True


def defer(
    session: Session,
    name: str,
    *,
    key: str,
    payload: dict[str, Any] | None = None,
    delay: timedelta | None = None,
) -> None:
    """Queue job ``name`` once ``session`` commits; nothing is queued if it rolls back. With ``delay``
    it runs that long after the commit (huey's own schedule: ``JobRunner.enqueue``)."""
    if name not in REGISTRY:
        raise KeyError(f"unknown job {name!r}")
    commit_hooks.add(session, _PENDING, (name, key, payload or {}, delay))


class _StoppingConsumer(Consumer):  # type: ignore[misc]
    """A huey consumer whose graceful stop first tells the process's runs to claim nothing more
    (``kit.attempts.begin_stop``): a delivery run's budget (45 s) outlasts the stop's wait, and a run
    still claiming rows when the wait ends dies mid-send with the process."""

    def start(self) -> None:
        attempts.stop_ended()
        super().start()

    def stop(self, graceful: bool = False) -> None:
        if graceful:
            attempts.begin_stop()
        super().stop(graceful=graceful)


class _InProcessConsumer(_StoppingConsumer):
    """A huey consumer on threads of the web process: the server owns the signals."""

    def _set_signal_handlers(self) -> None:
        return None


# A scheduled run's copy (each scheduler queues one) not started this long after it was queued is
# dropped: the run of its slot was done by another copy, or the next slot's copy does the job's work.
PERIODIC_EXPIRES = timedelta(minutes=30)
# How far back a scheduled run looks for its slot (the schedules are daily at most).
_SLOT_SEARCH = timedelta(days=8)


def schedule_slot(schedule: Callable[[datetime], bool], now: datetime) -> datetime:
    """The slot a scheduled run started at ``now`` belongs to: the latest minute at or before it that
    ``schedule`` (a huey crontab, on naive UTC times) matches; ``now``'s minute if none is found."""
    minute = now.astimezone(UTC).replace(second=0, microsecond=0, tzinfo=None)
    for back in range(int(_SLOT_SEARCH / timedelta(minutes=1))):
        candidate = minute - timedelta(minutes=back)
        if schedule(candidate):
            return candidate.replace(tzinfo=UTC)
    return minute.replace(tzinfo=UTC)


def _forget(session: Session, key: str) -> None:
    """Free the key of a failed run whose claim was committed first, so a retry runs it again (best
    effort: a key left taken waits for the job's next scheduled run)."""
    try:
        session.execute(delete(JobRun).where(JobRun.key == key))
        session.commit()
    except Exception as exc:
        session.rollback()
        log.warning("job.key_kept", run=key, error=error_summary(exc))  # no bound values


class JobRunner:
    """Binds the registry to a huey queue and to the sessions jobs run in; each job's session carries
    the application's ``settings`` (``kit.settings.settings_of``)."""

    def __init__(
        self, huey: Huey, session_factory: sessionmaker[Session], settings: Settings | None = None
    ) -> None:
        self.huey = huey
        self.session_factory = session_factory
        self.settings = settings
        self._consumer: _InProcessConsumer | None = None
        self._task = huey.task(retries=5, retry_delay=10, name="neigou.run_job")(self._run)
        self.periodic: dict[str, Any] = {}  # each scheduled job's huey periodic task, by job name
        for spec in REGISTRY.values():
            if spec.cron:
                self._schedule(spec)

    def _schedule(self, spec: JobSpec) -> None:
        schedule = crontab(**spec.cron)

        def periodic() -> None:
            # One run per schedule slot, whichever scheduler's copy comes and however late: the key
            # names the slot, not the minute the copy runs in. The run goes through the deferred jobs'
            # task: a failed one is retried (keeping its slot's key) only if its job asks for it.
            slot = schedule_slot(schedule, utcnow())
            key = f"{spec.name}@{slot:%Y-%m-%dT%H:%M}"
            if spec.retry_scheduled:
                self._task(spec.name, key, {})
            else:
                self._task(spec.name, key, {}, retries=0)

        self.periodic[spec.name] = self.huey.periodic_task(
            schedule, name=f"periodic:{spec.name}", expires=int(PERIODIC_EXPIRES.total_seconds())
        )(periodic)

    def _run(self, name: str, key: str, payload: dict[str, Any]) -> None:
        self.run(name, key=key, payload=payload, at=utcnow())

    def run(self, name: str, *, key: str, payload: dict[str, Any], at: datetime) -> bool:
        """Run a job now in its own transaction (or, ``own_transactions``, its key committed first);
        False when the key already ran (or is running)."""
        spec = REGISTRY[name]
        session = self.session_factory()
        if self.settings is not None:
            use_settings(session, self.settings)
        claimed = False
        session.info[_RUN_KEY] = (name, key)
        try:
            if session.get(JobRun, key) is not None:
                return False
            # Claim the key before working: a second worker blocks on the unique key until the
            # first commits, then gives up, so the handler runs once even with parallel deliveries.
            session.add(JobRun(key=key, name=name, finished_at=at))
            try:
                session.flush()
                if spec.own_transactions:
                    session.commit()  # the key is taken; the write lock (SQLite) is given back
            except IntegrityError:
                session.rollback()
                return False
            claimed = True
            spec.handler(session, payload, at)
            session.execute(update(JobRun).where(JobRun.key == key).values(finished_at=utcnow()))
            session.commit()
        except BaseException as exc:
            session.rollback()
            if claimed and spec.own_transactions:
                _forget(session, key)
            if isinstance(exc, Exception):
                JOB_FAILURES.labels(job=name).inc()
            raise
        finally:
            session.close()
        log.info("job.done", job=name, run=key)
        return True

    def queued(self) -> int:
        """Jobs waiting in the queue (a query of the queue's store)."""
        return int(self.huey.pending_count())

    def enqueue(self, name: str, key: str, payload: dict[str, Any], delay: timedelta | None = None) -> None:
        """Hand a job to the queue (called after commit); with ``delay``, to huey's schedule, from which
        the consumer's scheduler queues it once the delay is over (a queue that runs jobs at once,
        ``immediate``, keeps it in its schedule until then)."""
        if delay is None:
            self._task(name, key, payload)
        else:
            self._task.schedule(args=(name, key, payload), delay=delay.total_seconds())

    def start_in_process(self, workers: int = 2) -> None:
        """Consume on background threads of this process (embedded setup)."""
        if self.huey.immediate or self._consumer is not None:
            return
        self._consumer = _InProcessConsumer(self.huey, workers=workers, worker_type="thread", periodic=True)
        self._consumer.start()

    def stop(self) -> None:
        """Stop in-process consumers, letting running jobs finish."""
        if self._consumer is not None:
            self._consumer.stop(graceful=True)
            self._consumer = None

    def consumer(self, workers: int, *, shutdown_timeout: float) -> Consumer:
        """A standalone consumer for ``neigou worker`` (handles its own signals). SIGTERM (how Docker,
        Kubernetes and systemd stop a process) stops it gracefully: it takes no new job and waits up to
        ``shutdown_timeout`` seconds for the running ones to finish, and delivery runs claim no new rows
        from the moment the stop begins (``kit.attempts.begin_stop``); SIGINT, or a second SIGTERM, stops it
        at once. huey's default takes SIGTERM as "stop now": its run returns while its (daemon) threads
        are mid-job, and they die with the process."""
        return _StoppingConsumer(
            self.huey,
            workers=workers,
            worker_type="thread",
            periodic=True,
            graceful_signal="TERM",
            shutdown_timeout=shutdown_timeout,
        )


_runner: JobRunner | None = None


def make_huey(
    backend: str, *, redis_url: str | None, jobs_path: str, database_url: str | None = None
) -> Huey:
    """The huey queue for a backend name (in-process | redis | immediate).

    On Redis the queue (and its schedule of delayed and periodic runs) is named after the database
    (``kit.streams.namespace``, as every other Redis key): deployments and test runs sharing a Redis never
    run each other's jobs. A queue under the old name ``neigou`` is not read any more: drain it with the
    previous worker before upgrading.

    Without a result store: nothing reads a job's result, and huey would keep a failed run's
    ``repr`` and whole traceback there (a database error's DETAIL and bound values: a shopper's hash,
    an openid), in Redis or the jobs file. A failure is logged instead, as ``kit.logging`` writes it."""
    if backend == "immediate":
        return MemoryHuey("neigou", immediate=True, results=False)
    if backend == "redis":
        if not redis_url:
            raise ValueError("NEIGOU_JOBS_BACKEND=redis needs NEIGOU_REDIS_URL")
        if not database_url:
            raise ValueError("a Redis job queue is named after its database: database_url is needed")
        return RedisHuey(namespace(database_url) + ":jobs", url=redis_url, results=False)
    # A fresh machine has no state directory yet: make it, as the SQLite database URL does.
    Path(jobs_path).parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("neigou", filename=jobs_path, results=False)


def install(runner: JobRunner | None) -> None:
    """Make ``runner`` the process's job runner (None: jobs are refused)."""
    global _runner  # noqa: PLW0603 - one runner per process, set at start-up
    _runner = runner


def current_runner() -> JobRunner:
    """The installed runner; raises if start-up did not install one."""
    if _runner is None:
        raise RuntimeError("no job runner installed")
    return _runner


@event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session: Session) -> None:
    """Queue the session's deferred jobs once it committed. A queue that fails (Redis timed out) is
    logged and the rest still go: the write is done, and raising here would answer a committed request
    with a 500 that says nothing was saved. Every deferred job has a scheduled run that picks up what
    its queued run would have done (webhook, alert and delivery retries run every minute)."""
    pending = commit_hooks.released(session, _PENDING)
    if pending is None:  # a savepoint released: its jobs wait for the outermost commit
        return
    for name, key, payload, delay in pending:
        try:
            if delay is None:
                current_runner().enqueue(name, key, payload)
            else:
                current_runner().enqueue(name, key, payload, delay=delay)
        except Exception as exc:
            log.error("job.enqueue_failed", job=name, error=error_summary(exc))


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    commit_hooks.rolled_back(session, _PENDING)  # the rolled-back transaction's own jobs
