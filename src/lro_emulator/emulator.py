"""`Emulator`: one emulated Operations service, its state, and the transports that serve it."""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

from .core.auth import AuthPolicy
from .core.calls import Call, CallList
from .core.clock import Pacing, VirtualClock
from .core.faults import Fault, FaultBuilder
from .core.handle import OperationHandle, OperationList, Payload
from .core.report import describe
from .core.scenario import LoadedScenario, Scenario, SettingConflict, agreed_setting
from .core.starts import ParentOf, Script, Starter
from .core.state import EmulatorState
from .core.tenure import Ending, Tenure
from .intercept import DEFAULT_PROJECT, HostMatcher, Interception, Redirect
from .intercept.inprocess import WsgiApp
from .proxies import bypassing_proxies
from .rest.app import RestApp
from .rest.control import ControlPlane
from .rest.server import HttpServer
from .wire.addresses import is_loopback, local_address
from .wire.errors import EmulatorFailure, NotServing, ScriptError, StaleHandle
from .wire.profiles import Profile
from .wire.proto3_json import format_timestamp
from .wire.validation import load_schemas

__all__ = ["DEFAULT_START", "Emulator", "WsgiApp"]

#: How many calls the log keeps by default: far above a test's needs (an hour of polling every second is 3,600), and
#: a few tens of megabytes for a server that runs for days; beyond it the oldest are dropped and counted.
DEFAULT_MAX_CALLS = 20_000

#: A control token: printable ASCII without spaces, as every HTTP client sends it the same way.
_TOKEN = re.compile(r"[!-~]+")

#: Where the virtual clock starts unless told otherwise: fixed, so every run sees the same instants.
DEFAULT_START = "2030-01-01T00:00:00Z"


class Emulator:
    """A scriptable ``google.longrunning.Operations`` service on a virtual clock.

    Use it as a context manager (or `start`/`stop`); it serves REST on ``127.0.0.1`` at a free
    port unless given one, and gRPC (at ``grpc_port``, free by default) once `start_grpc` or
    `grpc_target` asks for it. `reset` gives it fresh state without restarting the servers.
    The call log keeps the last ``max_calls`` calls (`CallList.dropped` counts the others).

    The control plane (``/_emulator/``) is open to every client of a loopback server unless ``control_token`` is
    given: then it requires ``Authorization: Bearer <control_token>``. On loopback, requests from a web page
    elsewhere (an ``Origin`` or a ``Host`` that is not this machine) are refused; a ``host`` beyond loopback
    accepts any.
    """

    def __init__(
        self,
        start: datetime | str = DEFAULT_START,
        profile: str | Profile = "generic",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        grpc_port: int = 0,
        speed: float | None = None,
        manual: bool = False,
        max_calls: int = DEFAULT_MAX_CALLS,
        control_token: str | None = None,
    ) -> None:
        if isinstance(max_calls, bool) or not isinstance(max_calls, int) or max_calls < 1:
            raise ScriptError(f"max_calls must be a whole number of calls, 1 or more, not {max_calls!r}")
        self._max_calls = max_calls
        for label, number in (("port", port), ("grpc_port", grpc_port)):
            if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= 65535:
                raise ScriptError(f"{label} must be a TCP port number, 0 to 65535 (0: any free port), not {number!r}")
        if control_token is not None and not (isinstance(control_token, str) and _TOKEN.fullmatch(control_token)):
            raise ScriptError("control_token must be printable ASCII without spaces (what an Authorization header "
                              "carries), the bearer token the control plane then requires")
        if manual and speed is not None:
            raise ScriptError("give speed= (the clock follows real time) or manual=True (only the control plane "
                             "moves it), not both")
        self._schemas = load_schemas()
        self._start = start
        self._profile = profile
        # One clock for the emulator's life: whatever follows it (frozen time) survives a reset.
        self._clock = VirtualClock(start)
        self._origin = self._clock.now()  # where the current state's clock started
        self._pacing = Pacing(self._clock, speed) if speed is not None or manual else None
        self._observers: list[Callable[[Call], None]] = []
        self._in_process = False  # whether an interception answers REST calls in-process (no connection to fault)
        self._label: str | None = None  # the test using the emulator (`_for_test`), which names it in its states
        self._state = self._new_state(profile)
        self._state.calls.origin = self._origin
        self._control = ControlPlane(_ControlTarget(self), token=control_token)
        self._app = RestApp(self._current, self._control, local_only=is_loopback(host))
        self._http = HttpServer(self._app, host, port)
        self._host = host
        self._grpc_port = grpc_port
        self._grpc: Any = None  # a GrpcServer once asked for: grpcio is an extra, imported only then
        # Starting and stopping servers: many client threads may read grpc_target first at the same moment.
        self._lifecycle = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Start serving (idempotent, thread-safe); returns the emulator."""
        with self._lifecycle:
            self._http.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the ports (idempotent)."""
        with self._lifecycle:
            self._http.stop()
            if self._grpc is not None:
                self._grpc.stop()

    def start_grpc(self) -> str:
        """Serve gRPC too (idempotent) and return its target, ``127.0.0.1:PORT``.

        Needs ``lro-emulator[grpc]``. From then on, until the next `reset`, every scripted payload
        must pack into protobuf messages the process has registered: one that cannot is a
        `ScriptError` where it is scripted (and operations scripted before are checked now).
        """
        __tracebackhide__ = True
        try:
            from .grpc.server import GrpcServer
        except ImportError as error:
            raise NotServing(f"gRPC needs the grpc extra: pip install 'lro-emulator[grpc]' ({error})") from None
        # Before the lifecycle lock: it takes the state's lock, which a start script calling this already holds.
        self._current().require_types()
        with self._lifecycle:
            if self._grpc is None:
                self._grpc = GrpcServer(self._current, self._host, self._grpc_port)
            self._grpc.start()
            target: str = self._grpc.target
        return target

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def reset(
        self, *, start: datetime | str | None = None, profile: str | Profile | None = None, seed: object = 0
    ) -> None:
        """Forget every operation, call, fault and credential, and restart the clock (at ``start``, or where
        it first started). ``seed`` seeds the dice of probabilistic faults.

        Handles of the state before (operations, starters, faults) raise `StaleHandle` from then on.
        """
        state = self._new_state(self._profile if profile is None else profile, seed)
        with self._clock.lock:  # one step with the swap: a handle checks its tenure under this lock before it acts
            previous = self._state
            self._take_on(state, self._start if start is None else start)
            previous.tenure.end(Ending.REPLACED)

    def _take_on(self, state: EmulatorState, start: datetime | str) -> None:
        """Make ``state`` the emulator's, its clock started over at ``start`` in a new epoch.

        Under the clock's lock, so that no call sees the new clock with the old state; a call that began in the
        old state ends without moving the new clock (it checks the epoch).
        """
        with self._clock.lock:
            self._origin = self._clock.restart(start)
            state.epoch = self._clock.epoch
            state.faults.in_process = self._in_process  # read here, under the lock an interception takes too
            state.calls.origin = self._origin  # messages show call times from the clock's start, as the report does
            self._state = state

    def _new_state(self, profile: str | Profile, seed: object = 0) -> EmulatorState:
        state = EmulatorState(clock=self._clock, profile=profile, schemas=self._schemas, pacing=self._pacing,
                              on_call=self._report, seed=seed, max_calls=self._max_calls, label=self._label)
        state.faults.in_process = self._in_process
        return state

    def observe(self, observer: Callable[[Call], None]) -> None:
        """Call ``observer(call)`` for every request answered from now on, control-plane requests included.

        It runs on the thread that answered the request (a server thread, or the client's own for a call answered
        in-process by an interception), so it must be quick (the command line prints a line).
        """
        self._observers.append(observer)

    def _report(self, call: Call) -> None:
        """Tell the observers of a request answered (the call log and the control plane call this)."""
        if self._observers:  # most emulators have none; every call comes here
            for observer in list(self._observers):
                observer(call)

    def load_scenario(self, source: str | os.PathLike[str] | Mapping[str, Any] | Scenario) -> LoadedScenario:
        """Load a scenario file (YAML or JSON), or a scenario document, all or nothing.

        Its operations are created now, on the current clock, and its starting methods declared.
        A scenario naming a profile or a clock start makes a fresh emulator (nothing scripted,
        called or moved since the last reset) switch to them; an emulator already in use must match
        them. Any fault raises `ScenarioError` (file, line, JSON pointer) and loads nothing.
        """
        __tracebackhide__ = True
        if isinstance(source, Scenario):
            scenario = source
        elif isinstance(source, Mapping):
            scenario = Scenario.from_document(source)
        else:
            scenario = Scenario.read(source)
        # Atomic against other loads and resets (the clock's lock is theirs too): each load that returns is kept
        # whole, and the first after a reset is the only one that may switch the profile or the clock start.
        with self._clock.lock:
            state = self._scripting()
            profile = scenario.profile or state.profile.name
            start = scenario.start or self._origin
            try:
                agreed_setting([scenario], profile=("the emulator", state.profile.name),
                               start=("the emulator", self._origin))
            except SettingConflict as conflict:
                if not self._fresh(state):
                    now_serving = f"the {state.profile.name} profile from {format_timestamp(self._origin)}"
                    wanted = f"the {profile} profile from {format_timestamp(start)}"
                    raise scenario.error(conflict.pointer,
                                         f"the scenario is written for {wanted}, but the emulator already serves "
                                         f"{now_serving} with operations, calls or a moved clock; load it first after "
                                         "a reset") from None
            else:
                return scenario._apply(state)
            fresh = self._new_state(profile, state.faults.seed)
            fresh.typed = state.typed
            fresh.auth = state.auth
            scenario._check(fresh)  # before the clock moves, so that a fault changes nothing at all
            origin = self._origin
            self._take_on(fresh, start)
            try:
                loaded = scenario._apply(fresh, checked=True)
            except BaseException:  # all or nothing: the emulator goes back to the state and clock it had
                self._take_on(state, origin)
                raise
            state.tenure.end(Ending.REPLACED)
            return loaded

    def _fresh(self, state: EmulatorState) -> bool:
        """Nothing scripted, declared, called or moved since the last reset."""
        return (len(state.store) == 0 and len(state.starts) == 0 and len(state.calls) == 0
                and self._clock.now() == self._origin)

    def addresses(self) -> dict[str, str]:
        """Where the emulator serves: ``{"http": url, "grpc": target}``, for what is running."""
        found: dict[str, str] = {}
        if self._http.running:
            found["http"] = self._http.url
        if self._grpc is not None and self._grpc.running:
            found["grpc"] = self._grpc.target
        return found

    def bypass_proxies(self) -> contextlib.AbstractContextManager[None]:
        """A context in which clients reach the emulator directly whatever proxy the environment names.

        ``NO_PROXY`` and ``no_proxy`` (and grpcio's ``no_grpc_proxy``, where set) gain the emulator's loopback
        addresses, and are restored after. The pytest fixture holds it for each test.
        """
        return bypassing_proxies([local_address(self._host), "127.0.0.1", "localhost", "::1"])

    def intercept(self, hosts: Iterable[str] | None = None, *, project: str = DEFAULT_PROJECT) -> Interception:
        """A context in which code that builds its clients the ordinary way reaches this emulator.

        ``with emu.intercept(): ...``: requests to ``hosts`` (globs; ``*.googleapis.com`` by default) made through
        requests or httplib2 are answered in-process by the REST app (no socket, same call log, faults and auth),
        through aiohttp over the REST port, and channels ``grpc.secure_channel``/``grpc.aio.secure_channel`` open
        to them go to the gRPC port (started on first use); ``google.auth.default()`` returns anonymous
        credentials for ``project``. A lookup of those hosts' addresses by any other library is refused, so that
        nothing reaches Google. Other hosts are untouched, proxies are bypassed for the emulator, and leaving the
        block restores every genuine function. Faults that need a connection (``hang``, ``reset``,
        ``disconnect``) cannot act on an in-process call: scripting one for REST is a `ScriptError` meanwhile, and
        so is entering while one is scripted. Entering starts the emulator if it is not serving; the first gRPC
        channel starts gRPC (see `start_grpc`). The pytest fixture does this with
        ``@pytest.mark.lro_emulator(intercept=True)``.
        """
        __tracebackhide__ = True
        if not isinstance(project, str) or not project.strip():
            raise ScriptError(f"project= is the project ID google.auth.default() returns, e.g. 'my-project'; "
                              f"got {project!r}")
        redirect = Redirect(self._app, lambda: self.url, self.start_grpc, HostMatcher(hosts), project)
        return Interception(redirect, also=lambda: [self._intercepting(), self.bypass_proxies()])

    @contextlib.contextmanager
    def _intercepting(self) -> Iterator[None]:
        """While inside, REST calls may be answered in-process: faults that need a connection are refused."""
        __tracebackhide__ = True
        self.start()
        with self._clock.lock:  # against a reset or a load swapping the state meanwhile
            self._current().faults.answer_in_process(True)
            self._in_process = True
        try:
            yield
        finally:
            with self._clock.lock:
                self._in_process = False
                self._state.faults.answer_in_process(False)

    @property
    def pacing(self) -> Pacing | None:
        """How the clock moves by itself (``speed=`` or ``manual=``); None in tests, where it is purely virtual."""
        return self._pacing

    # -- addresses -----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The REST endpoint, ``http://127.0.0.1:PORT`` (the emulator must be started)."""
        return self._http.url

    @property
    def grpc_target(self) -> str:
        """The gRPC address, ``127.0.0.1:PORT``, for ``grpc.insecure_channel``; starts gRPC on first use.

        See `start_grpc`.
        """
        __tracebackhide__ = True
        return self.start_grpc()

    @property
    def wsgi_app(self) -> WsgiApp:
        """The REST surface as a WSGI application, for ``werkzeug.test.Client`` tests without sockets.

        It serves exactly what `url` serves, with the same call log, faults and credentials.
        """
        return self._app

    # -- state -----------------------------------------------------------------------------------------

    @property
    def clock(self) -> VirtualClock:
        """The virtual clock: ``now()``, ``advance(seconds)``, ``set(when)``."""
        return self._current().clock

    @property
    def calls(self) -> CallList:
        """Every request answered since the last reset, in order."""
        return self._current().calls

    @property
    def profile(self) -> Profile:
        """The service profile in force."""
        return self._current().profile

    @property
    def problems(self) -> list[Exception]:
        """Responses that violated their schema and failures of the emulator itself, since the last reset."""
        return list(self._current().problems)

    def _current(self) -> EmulatorState:
        """The current state (replaced by `reset`); with ``speed=``, its clock is caught up with real time first."""
        if self._pacing is not None:
            self._pacing.sync()
        return self._state

    def _scripting(self) -> EmulatorState:
        """The current state, to script or hand out handles of: `StaleHandle` once its test has ended.

        Only the session's emulator itself gets here then (the one the fixture gave a test refuses first), used
        after an ``lro_emulator`` test without a reset: its handles would be stale at once.
        """
        __tracebackhide__ = True
        state = self._current()
        state.tenure.check("the emulator's state", "reset() the emulator before scripting it again, as the "
                                                   "lro_emulator fixture does for each test")
        return state

    def _for_test(self, label: str) -> _TestEmulator:
        """This emulator as the test ``label`` (a node id) sees it, until `_TestEmulator._end` (the fixture's).

        States made from now on carry the label, so their handles name the test when used after it.
        """
        with self._clock.lock:
            self._label = label
        return _TestEmulator(self, label)

    def check(self) -> None:
        """Raise `EmulatorFailure` for responses that went wrong since the last check (the fixture calls this)."""
        __tracebackhide__ = True
        state = self._state
        new = state.problems[state.reported:]
        state.reported = len(state.problems)
        if new:
            raise EmulatorFailure(new)

    # -- scripting -----------------------------------------------------------------------------------

    def add_operation(
        self, name: str | None = None, metadata: Payload | None = None, *, parent: str | None = None
    ) -> OperationHandle:
        """Create a pending operation and return its handle.

        Without ``name``, one is generated under ``parent`` (or the profile's default parent):
        ``{parent}/operations/op-1``, ``op-2``, ... in order, the same on every run.
        """
        __tracebackhide__ = True
        return self._scripting().add_operation(name, metadata, parent=parent)

    def on_start(
        self,
        method: object = None,
        /,
        *,
        http: str | None = None,
        grpc: str | None = None,
        script: Script | None = None,
        body: str | None = "*",
        request_type: str | type | None = None,
        parent: str | ParentOf | None = None,
    ) -> Starter:
        """Declare a method of the service under test that starts an operation, until the next `reset`.

        ``method`` names it: a generated client's method (``aiplatform_v1.DatasetServiceClient.create_dataset``),
        its full name (``"google.cloud.run.v2.Services.CreateService"``, or the gRPC form with ``/``) or a protobuf
        ``MethodDescriptor``. The emulator reads the rest from the client library or the descriptors: every HTTP
        binding with its body field, the gRPC method and request type, and the types of the operation's response
        and metadata; a script that gives another type raises `ScriptError` at its line.

        For a service without a client library or descriptors, describe the method instead: ``http`` is a
        google.api.http rule, ``"POST /v1/{parent=projects/*/locations/*}/workflows"``, whose ``body`` field takes
        the request body (``"*"``: the whole request; None: no body). ``grpc`` is a full method name,
        ``"google.cloud.workflows.v1.Workflows/CreateWorkflow"``; its request message is decoded as
        ``request_type`` (a message class or full name; by default the method's name plus ``Request`` in its
        package), which the process must have registered, by importing the client library. Give either or both.
        With ``request_type``, a REST call's message is read as that type too, so the script sees what gRPC would.

        Each call creates an operation under the request's ``parent`` field (or the field ``parent`` names, or what
        a callable ``parent(request)`` returns; a method whose request has no parent names a resource, and the
        operation goes under the nearest collection of it the profile lists), calls ``script(operation, request)``
        (a `StartRequest`), and answers the Operation as it is then. A script that raises `StatusError` makes the
        call fail with it. Returns the `Starter`, whose ``operations`` and ``requests`` list what each call created
        and sent.
        """
        __tracebackhide__ = True
        return self._scripting().declare_start(method, http=http, grpc=grpc, script=script, body=body,
                                               request_type=request_type, parent=parent)

    def fault(
        self,
        *,
        rpc: str | None = None,
        name: str | None = None,
        transport: str | None = None,
        nth: int | None = None,
        first: int | None = None,
        during: tuple[Any, Any] | None = None,
        probability: float | None = None,
        seed: int | str | None = None,
    ) -> FaultBuilder:
        """Aim a fault at some calls, until the next `reset`; a method of the result says what it does.

        ``emu.fault(rpc="GetOperation", first=2).error("UNAVAILABLE")``. Aim by ``rpc`` (an
        Operations method or a declared starting method), ``name`` (the operation, or for
        ListOperations the collection; ``*`` matches any characters) and ``transport`` (``"http"``
        or ``"grpc"``); then select among the calls aimed at: the ``nth``, the ``first`` k, those
        arriving ``during`` a virtual window (seconds from now or instants), or each with
        ``probability`` p, drawn from dice seeded by the emulator's seed and the fault's number (or
        ``seed``). With no selection, every call aimed at. The effects: ``error``, ``delay``,
        ``hang``, ``reset``, ``disconnect``, ``malformed``, ``truncate``, ``respond``. When two
        faults select a call, the one scripted first fires.
        """
        __tracebackhide__ = True
        state = self._scripting()
        return FaultBuilder(state.faults, state.clock.now(), state.check_error, rpc=rpc, name=name,
                            transport=transport, nth=nth, first=first, during=during, probability=probability,
                            seed=seed)

    @property
    def starters(self) -> list[Starter]:
        """The starting methods declared since the last reset (by `on_start` or a scenario), in order."""
        return list(self._current().starts)

    @property
    def faults(self) -> list[Fault]:
        """The faults scripted since the last reset, in order; each knows the calls it ``fired`` on."""
        return list(self._current().faults)

    def require_auth(
        self,
        *,
        token: str | Iterable[str] | None = None,
        api_key: str | Iterable[str] | None = None,
        forbidden: str | Iterable[str] = (),
    ) -> None:
        """Require credentials on every call until the next `reset`: a bearer ``token`` or an ``api_key``.

        A call without credentials, or with ones not given here, is answered UNAUTHENTICATED (401);
        one with a ``forbidden`` credential (a valid token or key that lacks permission) is
        PERMISSION_DENIED (403). Discovery
        documents stay public, as Google's are; the control plane has its own ``control_token``.
        """
        __tracebackhide__ = True
        policy = AuthPolicy.build(token, api_key, forbidden)
        self._scripting().auth = policy

    def describe(self) -> str:
        """The report a failing test shows: each operation's timeline beside the calls, faults and problems."""
        return describe(self._current(), self._origin)

    def operation(self, name: str) -> OperationHandle:
        """The handle of an existing operation."""
        __tracebackhide__ = True
        return self._scripting().operation(name)

    @property
    def operations(self) -> OperationList:
        """Handles of every live operation, in creation order: a read-only sequence (`OperationList`) whose
        handles are made as they are read, so that a million operations cost no million objects at once."""
        __tracebackhide__ = True
        return self._scripting().operations()

    def __repr__(self) -> str:
        where = self.url if self._http.running else "not started"
        return f"<Emulator {self.profile.name} {where} at {self.clock.now().isoformat()}>"


def _refused_after_the_test(cls: type[_TestEmulator]) -> type[_TestEmulator]:
    """Give ``cls`` every public member of `Emulator` (and ``with``), each checking the test's tenure first.

    The check is one attribute read, inline, and a property's getter takes no arguments to pack: a test calls the
    emulator's members often (``emu.clock`` in a loop), and the check must cost it next to nothing.
    """

    def refuse(self: _TestEmulator) -> None:
        __tracebackhide__ = True
        raise StaleHandle(self._tenure.message(
            "this emulator", "the lro_emulator fixture gives each test its own emulator, good during that test only: "
                             "end the threads that use it before the test returns, and keep none for a later test"))

    def method(member: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(member)
        def checked(self: _TestEmulator, *args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            if self._tenure.ended is not None:
                refuse(self)
            return member(self, *args, **kwargs)

        return checked

    def getter(member: Callable[[Any], Any]) -> Callable[[Any], Any]:
        @functools.wraps(member)
        def checked(self: _TestEmulator) -> Any:
            __tracebackhide__ = True
            if self._tenure.ended is not None:
                refuse(self)
            return member(self)

        return checked

    for name, member in vars(Emulator).items():
        if (name.startswith("_") and name not in ("__enter__", "__exit__")) or name in vars(cls):
            continue
        if isinstance(member, property) and member.fget is not None:
            setattr(cls, name, property(getter(member.fget), doc=member.__doc__))
        elif inspect.isfunction(member):
            setattr(cls, name, method(member))
    return cls


@_refused_after_the_test
class _TestEmulator(Emulator):
    """The emulator the pytest fixture gives one test: the session's emulator under another identity.

    It shares the session emulator's very attribute dict (the Borg idiom), so it is that emulator in every
    respect, servers, state and clock, and a reset through either is seen by both; only the test's tenure, in
    its own slot, is its own. Each public member checks that tenure first, so the object a thread or a module
    global kept from an earlier test raises `StaleHandle` naming that test instead of scripting the test now
    running. A facade that forwarded calls would change what ``self`` means inside `Emulator`'s methods; this
    needs no forwarding, and stays an `Emulator` for the fixture's users.
    """

    __slots__ = ("_tenure",)

    def __init__(self, emulator: Emulator, label: str) -> None:
        # Not Emulator.__init__, which would start another emulator: this one takes the session's attributes.
        self.__dict__ = emulator.__dict__
        self._tenure = Tenure(label)

    def _end(self) -> None:
        """The test is over: this object and the state in force (the test's own) refuse use from now on."""
        with self._clock.lock:  # the lock a handle checks its tenure under before it acts
            self._tenure.end(Ending.TEST_ENDED)
            self._state.tenure.end(Ending.TEST_ENDED)
            if self._label == self._tenure.label:
                self._label = None  # states made by a later reset of the session's emulator are nobody's test

    def __repr__(self) -> str:
        if self._tenure.ended is not None:
            return f"<Emulator of test {self._tenure.label!r}, which has ended>"
        return super().__repr__()


class _ControlTarget:
    """What the control plane drives: the emulator, through members that are not its public API."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator

    @property
    def state(self) -> EmulatorState:
        return self._emulator._current()

    @property
    def pacing(self) -> Pacing | None:
        return self._emulator.pacing

    def reset(self, *, start: datetime | str | None = None, profile: str | Profile | None = None) -> None:
        self._emulator.reset(start=start, profile=profile)

    def load_scenario(self, source: str | os.PathLike[str] | Mapping[str, Any] | Scenario) -> LoadedScenario:
        return self._emulator.load_scenario(source)

    def addresses(self) -> dict[str, str]:
        return self._emulator.addresses()

    def report(self, call: Call) -> None:
        self._emulator._report(call)
