"""Throttling beside MaxConcurrency: calls per minute, and credit budgets per run and per day.

Zoho meters credits per org over a rolling 24 hours and shares them between every integration
of the org; a sync that spends them all starves the others (iPaaS tools expose the same knobs as
"throttling" settings). Three limits, all off by default:

* ``CallsPerMinute``: at most that many calls start in any 60 seconds (a sliding window; a call
  that would exceed it waits, and a stopping run stops waiting at once).
* ``CreditBudget``: the credits one connection (one run) may spend. Before each call its price
  (the table in :mod:`.credits`, what Zoho charges) is *reserved*; a call whose reservation would
  pass the budget is not sent and raises :class:`CreditBudgetReached`. Reservations make it exact
  under concurrency: spent + in flight never exceeds the budget, so a run stops at <= N credits.
* ``CreditBudgetPerDay``: the same across runs and processes for one UTC day, kept in a private
  (0600) ledger file under a file lock, ``BudgetLocation`` or one per API host and client under
  ``~/.config/zohocrm/budgets``. The price is written before the call and corrected after it (a
  refused call costs less), so a crash can only over-count, never let a day pass its budget.

A budget stop is a clean stop: the writers journal what they sent, the migration runner keeps the
modules it committed, and the error (exit status 75, "try again later") says how to resume.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from connector.config.config import ConnectionConfig
from connector.errors import CreditBudgetReached, FileAccessError
from connector.localfs import private_dir, write_private

WINDOW_S = 60.0
LOCK_TIMEOUT_S = 30.0


class CallRate:
    """At most ``per_minute`` call starts in any :data:`WINDOW_S` seconds."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._sleep = sleep
        self._starts: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()
        #: seconds spent waiting for the window, for the session summary
        self.waited = 0.0

    def acquire(self) -> None:
        if self.per_minute <= 0:
            return
        while True:
            with self._lock:
                now = self._clock()
                while self._starts and now - self._starts[0] >= WINDOW_S:
                    self._starts.popleft()
                if len(self._starts) < self.per_minute:
                    self._starts.append(now)
                    return
                wait = self._starts[0] + WINDOW_S - now
            self.waited += wait
            self._sleep(wait)  # outside the lock: other threads queue behind the same window


def default_ledger_path(config: ConnectionConfig) -> Path:
    """One ledger per API host and OAuth client: one org's integration, as Zoho meters it."""
    home = os.environ.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(home):
        home = os.path.join(os.path.expanduser("~"), ".config")
    digest = hashlib.sha256(f"{config.api_domain}|{config.oauth_client_id or ''}".encode()).hexdigest()[:16]
    return Path(home) / "zohocrm" / "budgets" / f"{digest}.json"


class CreditBudget:
    """Reserves each call's credits against the run's and the day's budgets before it is sent."""

    def __init__(self, config: ConnectionConfig, *, today: Callable[[], str] | None = None) -> None:
        self.per_run = config.credit_budget
        self.per_day = config.credit_budget_per_day
        self.ledger = (config.budget_location or default_ledger_path(config)) if self.per_day else None
        self._today = today or (lambda: datetime.now(UTC).date().isoformat())
        self._lock = threading.Lock()
        self.spent = 0
        self.in_flight = 0
        self._file_lock = FileLock(str(self.ledger) + ".lock", mode=0o600, timeout=LOCK_TIMEOUT_S) \
            if self.ledger else None

    @property
    def active(self) -> bool:
        return bool(self.per_run or self.per_day)

    def reserve(self, credits: int) -> None:
        """Hold ``credits`` for a call about to be sent, or raise :class:`CreditBudgetReached`."""
        if not self.active or credits <= 0:
            return
        with self._lock:
            if self.per_run and self.spent + self.in_flight + credits > self.per_run:
                raise CreditBudgetReached(
                    f"the credit budget of this run is reached (CreditBudget={self.per_run}): "
                    f"{self.spent + self.in_flight} credits spent, the next call costs {credits}; "
                    "stopped before sending it",
                    hint="run the same command again to resume (a migration: with --incremental), or raise "
                         "CreditBudget")
            if self.per_day:
                self._update_ledger(credits, check=True)
            self.in_flight += credits

    def settle(self, reserved: int, charged: int) -> None:
        """The call was answered (or not): ``charged`` of the ``reserved`` credits were spent."""
        if not self.active or reserved <= 0 and charged <= 0:
            return
        with self._lock:
            self.in_flight -= max(reserved, 0)
            self.spent += charged
            if self.per_day and charged != reserved:
                self._update_ledger(charged - reserved, check=False)

    def spent_today(self) -> int:
        if self.ledger is None:
            return 0
        with self._locked():
            return self._read()[1]

    # -- the per-day ledger ------------------------------------------------------------------------

    def _read(self) -> tuple[str, int]:
        assert self.ledger is not None
        today = self._today()
        try:
            data = json.loads(self.ledger.read_text(encoding="utf-8"))
            day, credits = str(data["day"]), int(data["credits"])
        except FileNotFoundError:
            return today, 0
        except (ValueError, KeyError, TypeError):
            raise FileAccessError(f"the credit ledger {self.ledger} is damaged, so today's spending is unknown",
                                  hint="delete it to start counting from zero, or set BudgetLocation to "
                                       "another file") from None
        return (today, credits) if day == today else (today, 0)

    def _update_ledger(self, delta: int, *, check: bool) -> None:
        assert self.ledger is not None
        with self._locked():
            day, spent = self._read()
            if check and spent + delta > self.per_day:
                raise CreditBudgetReached(
                    f"the daily credit budget is reached (CreditBudgetPerDay={self.per_day}): {spent} credits "
                    f"spent on {day} (UTC), the next call costs {delta}; stopped before sending it",
                    hint="run the same command again tomorrow (UTC) to resume, or raise CreditBudgetPerDay")
            write_private(self.ledger, json.dumps({"day": day, "credits": max(0, spent + delta)}),
                          "credit ledger", setting="BudgetLocation")

    @contextmanager
    def _locked(self) -> Iterator[None]:
        assert self._file_lock is not None and self.ledger is not None
        if not self.ledger.parent.exists():
            private_dir(self.ledger.parent, "folder of the credit ledger", setting="BudgetLocation")
        try:
            with self._file_lock:
                yield
        except Timeout:
            raise FileAccessError(f"cannot lock the credit ledger {self.ledger}: held for over {LOCK_TIMEOUT_S:g} s",
                                  hint=f"if no other zohocrm process runs, delete {self.ledger.name}.lock") from None
