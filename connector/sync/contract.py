"""The two contracts of a sync backend: :class:`Source` (what a run reads) and :class:`Target`
(what it writes), fsspec style.

Every scheme (``duckdb:``, ``parquet:``, ``csv:``, Zoho) is both. The core of each contract is
abstract: a backend that leaves a method out cannot be instantiated. What only some backends
can do is a hook with a no-op default, so the runner calls it on every backend and never asks
``hasattr``: a source with no deletion log answers ``deleted_ids`` with None (the runner then
compares ids), a target that keeps copies refreshes formulas through ``update_columns`` while
Zoho, which works them out itself, says so with ``derives_values``.

One contract test class (``tests/sync/test_contract.py``) runs against every backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, NamedTuple, Self

import pyarrow as pa

from connector.errors import NotSupportedError

from .record_files import Fetch, FilePlan
from .state import BoundaryCheck, ModuleState

if TYPE_CHECKING:
    from connector.http.credits import CreditMeter

#: (module, phase, rows): phase "start" (0 rows) when a module begins, then "full", "delta",
#: "formulas" or (Zoho targets) "write" with the rows so far
ProgressFn = Callable[[str, str, int], None]


class LookupRef(NamedTuple):
    """One record lookup of a module, as its columns: where the id, name and (polymorphic) module sit."""

    id_column: str  # ``<Field>_Id``
    name_column: str  # ``<Field>_Name``
    module_column: str | None  # ``<Field>_Module`` when the lookup may point at several modules
    targets: tuple[str, ...]  # the modules it may point at


@dataclass
class ModuleStats:
    """What a target says about one module after writing it (the runner copies it into the result)."""

    failed: int = 0  # source rows whose last outcome in this run is not a success
    notes: list[str] = field(default_factory=list)
    would: dict[str, int] = field(default_factory=dict)  # dry run: rows per operation it would have made
    sent: int = 0  # rows handed to the target's API so far (a stop part way says how many are safe)


class Metered:
    """The API credits a source or a target has spent, from the meter that counts them (none: 0)."""

    def credit_meter(self) -> CreditMeter | None:
        """What counts this side's credits (a Zoho session's meter), None for none (local files). A source
        and a target given one session share it, and a run counts it once (:func:`.runner.spent_credits`)."""
        return None

    def credits(self, module: str | None = None) -> int:
        """API credits spent so far; ``module``: those spent for it."""
        meter = self.credit_meter()
        if meter is None:
            return 0
        return int(meter.total if module is None else meter.charged(module))

    def credits_by_module(self) -> dict[str, int]:
        """:meth:`credits` of every module spent for so far (a run counts its modules' from here)."""
        meter = self.credit_meter()
        return {} if meter is None else meter.tags()


class Source(Metered, ABC):
    """Where a run reads from: modules, their Arrow schema, their rows (all, or changed since a watermark)."""

    #: the URL scheme this backend answers to (``zoho`` for connection strings)
    scheme: str

    @classmethod
    @abstractmethod
    def from_url(cls, location: str, **options: Any) -> Self:
        """Open the source at ``location``: what follows ``scheme:`` in its URL (see :mod:`.backends`)."""

    @abstractmethod
    def identity(self) -> str:
        """A stable name of what is read (a Zoho target binds its id map to it)."""

    @abstractmethod
    def modules(self) -> list[str]:
        """Every module this source can give, in a stable order."""

    def modules_for_run(self, whole: bool = False) -> list[str]:
        """:meth:`modules`, for a run that asks their metadata next (:meth:`prepare`): a source whose listing
        takes calls of its own may ask them beside that metadata. ``whole``: the run reads every module whole
        (what sizes those reads may be asked then too: :meth:`expect`)."""
        return self.modules()

    @abstractmethod
    def schema(self, module: str) -> pa.Schema:
        """The module's Arrow schema; a module the source does not have is a ConnectorError."""

    @abstractmethod
    def read(self, module: str, columns: list[str] | None = None, *, modified_since: datetime | None = None,
             exclude_ids: set[str] | None = None, boundary: BoundaryCheck | None = None
             ) -> Iterator[pa.RecordBatch]:
        """The module's rows (``columns`` only, ``id`` included, when given).

        With ``modified_since``: only rows whose Modified_Time is at or after it, leaving out the
        ``exclude_ids`` taken at exactly that second by the last run (a closed start plus the ids
        seen at the boundary: nothing lost, nothing twice). ``boundary`` lets a source that cannot
        leave those ids out in its query read past the second and have it counted instead.
        """

    @abstractmethod
    def ids(self, module: str, expected: int | None = None) -> set[str]:
        """Every id the module has now (deletions are found by comparing these with the target's);
        ``expected``: about how many (the rows the target held after the last run), for a source whose
        listing goes faster when it knows (a guess that is wrong costs at most a few calls, never an id)."""

    @abstractmethod
    def now(self) -> datetime:
        """The source's clock, to the second: the run's signpost."""

    @abstractmethod
    def close(self) -> None:
        """Let go of connections and files; a second call does nothing."""

    # -- hooks: what only some sources can say --------------------------------------------------

    def resolve_module(self, name: str) -> str:
        """The module's own name for what a user typed (Zoho: ``leads`` -> ``Leads``, with did-you-mean)."""
        return name

    def signpost(self, module: str) -> datetime | None:
        """The time up to which this module is known complete, when that is earlier than :meth:`now`
        (a copy made by an earlier sync is complete up to that sync's signpost)."""
        return None

    def deleted_ids(self, module: str, since: datetime | None, apis: frozenset[str] | None = None
                    ) -> list[str] | None:
        """Ids deleted after ``since`` from the source's deletion log; None when it keeps none. Asked again
        for the same module and ``since`` in a run, a source that calls for them answers from what it was
        told (a read ahead asks it before it waits for other reads: :func:`.delta.warm_delta`). ``apis``: the
        module's :meth:`read_apis` as its state kept them, when asked before the source lists its modules
        (``module`` is then the source's own name for it, as kept)."""
        return None

    def read_apis(self, module: str) -> frozenset[str] | None:
        """The APIs that serve ``module`` at the source (Zoho's REST, COQL, Bulk ...), kept in the module's
        state so that the next run asks its first calls without waiting to learn them; None: a source
        without such APIs."""
        return None

    def list_fields(self, module: str) -> tuple[str, ...] | None:
        """Kept in the module's state (:attr:`.state.ModuleState.list_fields`): the fields a first page of its
        delta would ask, where the next run may ask that page before it knows the module's fields (passed to
        :meth:`expect`); None: the source asks no such page."""
        return None

    def first_rows(self, module: str, columns: list[str]) -> pa.RecordBatch | None:
        """Rows of ``module``'s delta in hand before its read gives them (a first page asked ahead, which the
        read takes once its count has chosen how to read the rest), with ``id`` and those of ``columns`` it
        has: a run may start on them early (their files' downloads). The read still gives them. None: none."""
        return None

    def cascade_suspected(self, module: str, since: datetime | None) -> bool:
        """Whether rows may have gone without being in the deletion log (they went with a parent)."""
        return False

    def cascade_foreseen(self, module: str) -> bool:
        """True when :meth:`cascade_suspected` will say so whatever its parents' reads of this run find (a
        parent's record count already shows edits): the check need not wait for them."""
        return False

    def whole_read(self, module: str, expected: int | None) -> Iterator[pa.RecordBatch] | None:
        """Every row of ``module`` (``expected``: about how many), for a run that must list its ids (rows may
        have gone with a parent) when one read of every row costs no more calls or credits than that listing
        alone: the run then takes the ids and its delta from it, and makes no delta read. A lazy read (no
        call until iterated); None: list the ids and read the delta apart (the default)."""
        return None

    def lookup_targets(self, module: str) -> list[LookupRef]:
        """The module's record lookups (a source that knows none answers with none)."""
        return []

    def formula_columns(self, module: str) -> list[str]:
        """Columns whose values change without Modified_Time moving (formulas, rollups, lookup names)."""
        return []

    def users(self) -> list[dict[str, Any]]:
        """The source's users (id, name, email, status): a Zoho target maps owners by email with them."""
        return []

    def files(self, module: str) -> tuple[FilePlan, Fetch] | None:
        """The module's file columns and how to download a file (Zoho: attachments, file fields)."""
        return None

    def open_file(self, path: str) -> BinaryIO:
        """One file this source keeps beside its tables, opened for reading in chunks, by the path its
        table gives (Attachments' ``File_Path``, a file field entry's ``$path``): what a Zoho target
        re-uploads. OSError when it is not there; NotSupportedError for a source that keeps none."""
        raise NotSupportedError(f"{self.scheme} sources keep no file bytes beside their tables")

    def concurrency(self) -> int:
        """Independent calls (file downloads) the source serves at once (Zoho: the connection's MaxConcurrency)."""
        return 1

    def read_ahead(self, deltas_only: bool = False) -> int:
        """Modules the runner may read ahead of the one it writes (0: none; see ``prefetch.py``);
        ``deltas_only``: every module of the run is an incremental read (small, so more may wait read)."""
        return 0

    def delta_ahead(self, module: str) -> bool:
        """Whether an incremental read of ``module`` (its deletions, the source's ids when the target must
        be compared, its changed rows) may run in a thread of its own ahead of its turn: the source can be
        read from threads, and the read waits for nothing but :meth:`delta_after`."""
        return False

    def delta_after(self, module: str) -> dict[str, str]:
        """Modules whose reads of this run the module's incremental read looks at, each with what it needs
        of them: ``"head"`` (their deletions), ``"rows"`` (their whole read) or ``"settle"`` (their whole
        read, needed only by what the read settles beside its rows: its cascade check). Read ahead, it
        starts once those are known, but for ``"settle"`` (:class:`.prefetch.ReadAhead`)."""
        return {}

    def expect(self, module: str, modified_since: datetime | None,  # noqa: B027 - a hook
               apis: frozenset[str] | None = None, rows: int | None = None,
               first_page: tuple[tuple[str, ...], datetime] | None = None) -> None:
        """A read of ``module``'s rows modified since then is coming (after its deletions), or of all its rows
        (``modified_since`` None: a full load, after its metadata): start what it needs first, if that can
        run meanwhile (Zoho: the record count that sizes it). ``apis`` as for :meth:`deleted_ids`; ``rows``:
        the rows the target held after the last run (a source may size the read by them instead);
        ``first_page``: the state's :meth:`list_fields` and the time the delta's rows are read from (after
        the watermark second when rows were taken there): the read's first page may be asked now."""

    def preload(self, modules: list[str], every: bool = False) -> None:  # noqa: B027 - a hook: doing nothing is right
        """Called once, before the modules a run was given by name are resolved: what :meth:`prepare` will
        fetch about them, asked beside the module list itself where the names can be guessed (a remote
        source's metadata: one round trip for both). ``every``: the run reads every module (``modules`` are
        those its target holds), so what :meth:`modules_for_run` asks may go out too."""

    def opening_share(self, modules: list[str]) -> int:
        """How many of ``modules``' first delta calls may go out beside :meth:`preload`'s (all: a source whose
        calls share no slots)."""
        return len(modules)

    def prepare(self, names: list[str], whole: bool = False) -> None:  # noqa: B027 - a hook: doing nothing is right
        """Called once before the run reads ``names``: fetch what it will need about them (a remote source's
        metadata) at once, rather than one round trip at a time as each module comes; ``whole`` as for
        :meth:`modules_for_run`."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Target(Metered, ABC):
    """Where a run writes to: a module's rows and its sync state, committed together.

    ``replace_module`` (a full load) and ``apply_changes`` (a delta and deletions) write the data
    and save the module's state with it; when either fails, the state the target keeps is the one
    it had, so running again redoes only what was not committed.
    """

    scheme: str
    #: Zoho works out formulas and rollups and empties lookups to deleted records by itself; a
    #: target that keeps copies does not, so the runner refreshes and clears them for it
    derives_values: ClassVar[bool] = False
    #: each module commits with its own state and none needs another's first (ids to map, rows to point at):
    #: an incremental run may write the one whose read is in first (:mod:`.turns`)
    writes_in_any_order: ClassVar[bool] = False
    #: validate and report only: nothing is written and no state moves
    dry_run: bool = False

    @classmethod
    @abstractmethod
    def from_url(cls, location: str, **options: Any) -> Self:
        """Open the target at ``location``: what follows ``scheme:`` in its URL (see :mod:`.backends`)."""

    @abstractmethod
    def identity(self) -> str:
        """A stable name of where the rows go."""

    @abstractmethod
    def load_state(self) -> dict[str, ModuleState]:
        """The sync state of every module a run committed here."""

    @abstractmethod
    def save_state(self, state: ModuleState) -> None:
        """A module's state alone, atomically (a run that changed no row but learned about its watermark)."""

    @abstractmethod
    def ids(self, module: str) -> set[str]:
        """The source ids this target holds for the module."""

    @abstractmethod
    def replace_module(self, module: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch],
                       state: ModuleState) -> int:
        """Make the module exactly ``batches`` and save ``state`` with it; the rows written."""

    @abstractmethod
    def apply_changes(self, module: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch],
                      deleted_ids: list[str], state: ModuleState) -> tuple[int, int]:
        """Upsert ``batches`` by id, delete ``deleted_ids``, save ``state``; (rows written, rows deleted).
        Nothing to change leaves the target untouched."""

    @abstractmethod
    def close(self) -> None:
        """Let go of connections, files and locks; a second call does nothing."""

    # -- hooks ------------------------------------------------------------------------------------

    def state_before_begin(self) -> dict[str, ModuleState] | None:
        """:meth:`load_state`'s answer when it can be had before :meth:`begin` (a local target's own file), so
        a run asks its deltas' first calls beside the source's metadata; None (the default): only after."""
        return None

    def order_modules(self, names: list[str]) -> list[str]:
        """The order to write ``names`` in (Zoho: parents before the modules that look them up)."""
        return names

    def prepare(self, names: list[str]) -> None:  # noqa: B027 - a hook: doing nothing is right
        """Called once before :meth:`order_modules`: fetch what the run will ask about ``names`` (a remote
        target's metadata) at once, rather than one round trip at a time."""

    def preread(self, module: str) -> None:  # noqa: B027 - a hook: doing nothing is right
        """``module``'s delta has rows or deletions, and its turn is still to come: a target that reads what it
        holds of the module to apply a delta may start that now (called from the runner's thread)."""

    def begin(self, source: Source, names: list[str], progress: ProgressFn | None = None) -> None:
        """Called once before the first module; keeps the source's users for a later run from here."""
        users = source.users()
        if users:
            self.save_users(users)

    def save_users(self, users: list[dict[str, Any]]) -> None:  # noqa: B027 - a hook: doing nothing is right
        """Keep the source's users (a later migration from this target maps owners by email)."""

    def update_columns(self, module: str, batches: Iterator[pa.RecordBatch], state: ModuleState) -> int:
        """Overwrite some columns by id (formula refresh) and save ``state``; the rows changed."""
        return 0

    def clear_references(self, module: str, id_col: str, name_col: str, module_col: str | None, parent: str,
                         ids: list[str]) -> int:
        """Empty a lookup wherever it points at one of ``ids`` (records of ``parent`` deleted at the source)."""
        return 0

    def lookups_of(self, module: str, columns: list[str]) -> None:  # noqa: B027 - a hook: doing nothing is right
        """Every lookup column of ``module`` that :meth:`clear_references` may look at in this run (a target that
        reads them from its files reads them all on the first clear, instead of one file read a parent)."""

    def write_behind(self) -> bool:
        """From now on, :meth:`apply_changes` and :meth:`replace_module` may hand a module's rows to a write of
        their own and return before they are committed (their counts are final): the run goes on to the next module meanwhile, and asks
        :meth:`writes_failed` which of those writes failed. Whether the target does (the default: no, every
        write is committed when its call returns). Reads of a module through the target wait for its write."""
        return False

    def after_commit(self, module: str, then: Callable[[], object]) -> None:
        """Run ``then`` once ``module``'s changes are committed: at once, unless they were handed to a write
        behind the run (:meth:`write_behind`) still under way, then as that write ends, and never if it fails
        (what ``then`` tidies, such as the files of deleted records, stays for as long as rows name it)."""
        then()

    def writes_failed(self, wait: bool = False) -> dict[str, Exception]:
        """The modules whose changes, written behind the run (:meth:`write_behind`), failed since this was last
        asked, with what they raised (their data and state stay as they were); ``wait``: once every write still
        under way has ended."""
        return {}

    def module_stats(self, module: str) -> ModuleStats:
        """Rows that failed, notes, and what a dry run would have done, for one module."""
        return ModuleStats()

    def finish(self, progress: ProgressFn | None = None) -> list[str]:
        """Called once after the last module (Zoho: the second pass for lookups); notes for the run."""
        return []

    @property
    def report_path(self) -> str | None:
        """The per-row report of rows the target did not take, when there is one."""
        return None

    def files_folder(self) -> tuple[Path, Path] | None:
        """Where downloaded files go, and the folder their paths in the table are relative to."""
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
