"""google.longrunning.Operations: the five RPCs, independent of any transport.

Transports parse a request into plain arguments, call one method here, and translate the answer or
the `StatusError` back. Everything the service answers is checked against the JSON Schemas first.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from datetime import datetime, timedelta

from ..wire.codes import Code
from ..wire.errors import LroEmulatorError, StatusError
from ..wire.profiles import Profile
from ..wire.proto3_json import JSON
from ..wire.validation import Schemas, SchemaViolation
from .clock import Pacing, VirtualClock
from .filters import FilterError, compile_filter
from .paging import PageToken, page_size
from .store import OperationStore
from .timeline import OperationRecord

#: The longest operation name or list parent looked up; longer ones are INVALID_ARGUMENT before anything runs on
#: them (real names are a few hundred characters at most).
MAX_NAME_LENGTH = 1024
#: How many names a NOT_FOUND's near-miss search compares at most.
_NEAR_MISS_CANDIDATES = 2000


class _Missing(LroEmulatorError):
    """No live operation has the name; ``names`` is the store's names when it was looked for (never leaves here)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names


class _Found:
    """`OperationsService._found`'s context: it turns `_Missing` into NOT_FOUND once the lock is released.

    A class rather than a generator: every poll enters one, and a generator's context costs several times more.
    """

    __slots__ = ("_name", "_service")

    def __init__(self, service: OperationsService, name: str) -> None:
        self._service = service
        self._name = name

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        if isinstance(error, _Missing):
            raise self._service._not_found(self._name, error) from None


__all__ = ["DEFAULT_WAIT_TIMEOUT", "MAX_WAIT_TIMEOUT", "OperationsService"]


#: How long WaitOperation waits when the request gives no timeout.
DEFAULT_WAIT_TIMEOUT = timedelta(seconds=60)
#: How often (real seconds) a wait that blocks looks whether its client has hung up.
HANG_UP_CHECK = 0.1
#: The longest one WaitOperation waits; it may return early (the contract says so), and clients loop.
MAX_WAIT_TIMEOUT = timedelta(days=1)


class OperationsService:
    """The Operations API over one store, one clock and one profile.

    The clock's lock guards the store and the clock together, so a request sees a single instant.
    ``on_violation`` is told of every response that failed its schema (the response itself becomes
    INTERNAL), so the test that caused it can fail.
    """

    def __init__(
        self,
        *,
        store: OperationStore,
        clock: VirtualClock,
        profile: Profile,
        schemas: Schemas,
        on_violation: Callable[[SchemaViolation], None],
        pacing: Pacing | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.profile = profile
        self.schemas = schemas
        self.lock = clock.lock
        self._on_violation = on_violation
        self.pacing = pacing
        #: The clock's epoch this service's state lives in; a reset starts another (see `in_force`).
        self.epoch = clock.epoch
        self._tokens = PageToken()  # a key of its own: tokens die with the state that issued them
        # Cancel and delete answer the same {} every time: one check when the service is built suffices.
        self._check("empty", {})

    # -- the five RPCs -----------------------------------------------------------------------------

    def get_operation(self, name: str) -> JSON:
        """GetOperation: the latest state. Counts as a poll."""
        self.require("GetOperation")
        if len(name) > MAX_NAME_LENGTH:
            self._check_length(name)
        try:  # what `_found` does, written out: every poll comes here
            with self.lock:
                now = self.clock.now()
                record = self._lookup(name, now)
                document = self.render(record)
                record.record_poll(now)
                return document
        except _Missing as missing:
            raise self._not_found(name, missing) from None

    def list_operations(
        self,
        parent: str,
        *,
        filter_text: str = "",
        page_size_requested: int | None = None,
        page_token: str = "",
        return_partial_success: bool = False,
    ) -> JSON:
        """ListOperations: the operations of one collection that match ``filter_text``, one page at a time."""
        self.require("ListOperations")
        if len(parent) > MAX_NAME_LENGTH:
            raise StatusError.bad_request(f"the parent is {len(parent):,} characters long; collection names are at "
                                          f"most {MAX_NAME_LENGTH:,}", field="name")
        if not self.profile.accepts_parent(parent):
            raise StatusError(
                Code.NOT_FOUND,
                f"{parent or '(empty)'!s} is not a collection the {self.profile.name} profile lists operations of; "
                f"it lists {self.profile.spell_parents()}",
                reason="UNKNOWN_PARENT",
            )
        if return_partial_success and not self.profile.cross_collection:
            raise StatusError(
                Code.UNIMPLEMENTED,
                f"returnPartialSuccess is not supported by the {self.profile.name} profile",
                reason="PARTIAL_SUCCESS_UNSUPPORTED",
            )
        size = page_size(page_size_requested)
        try:
            matches = compile_filter(filter_text)
        except FilterError as error:
            raise StatusError.bad_request(str(error), field="filter", reason="INVALID_FILTER") from None
        after = self._tokens.decode(page_token, parent=parent, filter_text=filter_text) if page_token else 0
        with self.lock:
            now = self.clock.now()
            page: list[JSON] = []
            last: OperationRecord | None = None
            more = False
            for record in self.store.scan(parent, after, wildcards=self.profile.cross_collection):
                record.settle(now)
                document = self.render(record, cache=False)
                if not matches(document):
                    continue
                if len(page) == size:
                    more = True  # one more match exists, so the page gets a token
                    break
                page.append(document)
                last = record
        response: JSON = {}
        if page:
            response["operations"] = page
        if more and last is not None:
            response["nextPageToken"] = self._tokens.encode(last.seq, parent=parent, filter_text=filter_text)
        # The operations inside were each checked when rendered; check the envelope around them.
        self._check("list-operations-response", {k: v for k, v in response.items() if k != "operations"})
        return response

    def cancel_operation(self, name: str) -> JSON:
        """CancelOperation: best effort; a done operation is left as it is."""
        self.require("CancelOperation")
        with self._found(name), self.lock:
            record = self._lookup(name)
            record.request_cancel(self.clock.now(), self.store.next_seq())
        return {}

    def delete_operation(self, name: str) -> JSON:
        """DeleteOperation: forget the operation. It does not cancel it."""
        self.require("DeleteOperation")
        with self._found(name), self.lock:
            self.store.delete(self._lookup(name))
        return {}

    def wait_operation(self, name: str, timeout: timedelta | None, gone: Callable[[], bool] = lambda: False) -> JSON:
        """WaitOperation: return when done or after ``timeout`` (at most a day) of virtual time, moving the clock.

        Under the virtual clock nothing would ever happen while a request blocked, so waiting means
        advancing the clock to each next scripted step until the operation is done or the timeout
        is reached. Counts as a poll. A wait that blocks in real time (a paced clock) ends when
        ``gone()`` says its client has hung up, and any wait ends ABORTED when the emulator is reset
        under it, leaving the new state's clock alone.
        """
        self.require("WaitOperation")
        if timeout is not None and timeout < timedelta(0):
            raise StatusError.bad_request(f"timeout must not be negative (got {timeout.total_seconds():g}s)",
                                       field="timeout")
        with self._found(name), self.lock:
            self.in_force()
            record = self._lookup(name)
            try:
                deadline = self.clock.after(min(DEFAULT_WAIT_TIMEOUT if timeout is None else timeout, MAX_WAIT_TIMEOUT))
            except ValueError:
                raise StatusError(Code.OUT_OF_RANGE, "the virtual clock is within a day of the end of the calendar "
                               "(year 9999); waiting would run past it", reason="CLOCK_AT_END") from None
            if self.pacing is None:
                while not record.done:
                    due = record.next_due()
                    if due is None or due > deadline:
                        self.clock.advance_to(deadline)
                        break
                    self.clock.advance_to(due)
                    self.in_force()  # whatever follows the clock (a test's listener) may have reset the emulator
                    record.settle(self.clock.now())
            else:
                self._wait_paced(record, deadline, self.pacing, gone)
            document = self.render(record)
            record.record_poll(self.clock.now())
            return document

    def _wait_paced(
        self, record: OperationRecord, deadline: datetime, pacing: Pacing, gone: Callable[[], bool]
    ) -> None:
        """Block, the lock released, until ``record`` is done, or the clock reaches ``deadline``, or time runs out,
        or the client hangs up (the answer then goes nowhere, but its thread is free).

        Outside tests the clock moves with real time or by the control plane, so a wait really waits.
        In manual mode the timeout is also a bound in real seconds, so a wait never hangs.
        """
        budget = (deadline - self.clock.now()).total_seconds()
        real_budget = pacing.real_seconds(deadline - self.clock.now())
        give_up = pacing.monotonic() + (budget if real_budget is None else real_budget)
        while True:
            self.in_force()
            pacing.sync()
            record.settle(self.clock.now())
            if record.done or record.deleted or self.clock.now() >= deadline or gone():
                break
            left = give_up - pacing.monotonic()
            if left <= 0:
                break
            due = record.next_due()
            until = pacing.real_seconds(min(deadline, due) - self.clock.now()) if due is not None else None
            # A little past the instant, so that the next sync reaches it; and short, so that a client that has
            # hung up is noticed soon (a reset wakes the wait at once: it moves the clock).
            self.clock.wait_for_move(min(left, until + 0.001 if until is not None else left, HANG_UP_CHECK))
        if record.deleted:
            raise StatusError(Code.NOT_FOUND, f"operation {record.name!r} was deleted while the wait was blocked",
                           reason="OPERATION_NOT_FOUND", metadata={"name": record.name})

    def in_force(self) -> None:
        """ABORTED unless this service's state is still the emulator's: a call that began before a reset must
        not move the clock the new state runs on."""
        if self.clock.epoch != self.epoch:
            raise StatusError(Code.ABORTED, "the emulator was reset while this call was in flight; the operation it "
                              "named belonged to the state before the reset", reason="EMULATOR_RESET")

    # -- helpers ---------------------------------------------------------------------------------

    def require(self, rpc: str) -> None:
        """UNIMPLEMENTED unless the profile offers ``rpc``."""
        if rpc not in self.profile.rpcs:
            offered = ", ".join(sorted(self.profile.rpcs))
            raise StatusError(
                Code.UNIMPLEMENTED,
                f"{rpc} is not offered by the {self.profile.name} profile, which has {offered}",
                reason="METHOD_NOT_OFFERED",
            )

    def _lookup(self, name: str, now: datetime | None = None) -> OperationRecord:
        """Find a live operation, settled to ``now`` (the clock's); `_Missing` (the lock held) if there is none."""
        record = self.store.find(name)
        if record is None and name.startswith("operations/"):
            # from_http_json clients address an operation as "operations/{its full name}".
            record = self.store.find(name[len("operations/"):])
        if record is None:
            raise _Missing(self.store.names())
        record.settle(self.clock.now() if now is None else now)
        return record

    def _found(self, name: str) -> _Found:
        """Around a lookup under the lock: a name past its bound is refused before any pattern or search runs, and
        a missing operation's NOT_FOUND, naming the near misses, is written after the lock is released (the search
        runs over every name, and other clients must not wait for it)."""
        self._check_length(name)
        return _Found(self, name)

    @staticmethod
    def _check_length(name: str) -> None:
        """INVALID_ARGUMENT for a name past its bound, before any pattern or search runs over it."""
        if len(name) > MAX_NAME_LENGTH:
            raise StatusError.bad_request(f"the name is {len(name):,} characters long; operation names are at most "
                                          f"{MAX_NAME_LENGTH:,}", field="name")

    def _not_found(self, name: str, missing: _Missing) -> StatusError:
        """The NOT_FOUND of a missing operation, naming the near misses (written with the lock released)."""
        return StatusError(Code.NOT_FOUND, self._not_found_message(name, missing.names), reason="OPERATION_NOT_FOUND",
                           metadata={"name": name})

    def _not_found_message(self, name: str, names: list[str]) -> str:
        if not self.profile.accepts_name(name) and not (
            name.startswith("operations/") and self.profile.accepts_name(name[len("operations/"):])
        ):
            return (
                f"{name!r} is not an operation name the {self.profile.name} profile serves; "
                f"its names look like {self.profile.spell_names()}"
            )
        message = f"operation {name!r} not found"
        # Near misses among a bounded number of names that could be one: difflib's ratio, 2 * matches / total
        # length, reaches its cutoff of 0.6 only when neither length is more than 7/3 of the other.
        low, high = len(name) * 3 / 7, len(name) * 7 / 3
        likely = [other for other in names if low <= len(other) <= high][:_NEAR_MISS_CANDIDATES]
        close = difflib.get_close_matches(name, likely, n=3, cutoff=0.6)
        if close:
            return message + f"; did you mean {', '.join(repr(n) for n in close)}?"
        if not names:
            return message + "; the emulator has no operations (was it deleted, or never scripted?)"
        return message + f" among the {len(names)} operation(s) the emulator has"

    def render(self, record: OperationRecord, *, cache: bool = True) -> JSON:
        """The Operation JSON of ``record``, checked against the schema once per state.

        ``cache=False`` (a listing) keeps no document the record had not kept already
        (`OperationRecord.render_uncached`).
        """
        document = record.render() if cache else record.render_uncached()
        if not record.validated:
            self._check("operation", document)
            record.validated = True
        return document

    def _check(self, schema: str, document: JSON) -> None:
        try:
            self.schemas.validate(schema, document)
        except SchemaViolation as violation:
            self._on_violation(violation)
            raise StatusError(
                Code.INTERNAL,
                f"the emulator produced a response that violates its schema: {violation}",
                reason="RESPONSE_SCHEMA_VIOLATION",
            ) from None
