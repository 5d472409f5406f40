"""A loopback TCP proxy that a test puts between a client and a real server, to break the link.

The faults are the ones a network gives: a server that refuses connections, connections reset
with an RST, a black hole that swallows traffic until the client's own timeout, and a cut timed on
the bytes themselves (the moment a COMMIT passes, so its answer is lost). One background thread
runs a selector loop; fault controls run inside that loop, so when `cut()` returns the cut is done.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar, cast

CutMode = Literal["refuse", "reset", "blackhole"]
Direction = Literal["to_server", "to_client"]

PATIENCE_S = 30.0
"""How long a control call or a wait lasts before it is called a hang."""

_CHUNK = 65536
_HOLD_LIMIT = 1 << 20
"""Bytes held per direction of a link before the proxy stops reading (TCP back-pressure)."""

_T = TypeVar("_T")


@dataclass(frozen=True)
class ProxyStats:
    """A consistent snapshot of the proxy's counters."""

    bytes_to_server: int
    """Bytes the proxy has written to the server side."""
    bytes_to_client: int
    """Bytes the proxy has written to the client side."""
    held_to_server: int
    """Bytes read from clients and not yet written to the server (a black hole holds them)."""
    held_to_client: int
    connections_accepted: int
    """Every connection accepted, including those reset at once in "reset" mode."""
    live_connections: int
    cuts: int
    """cut() calls plus armed cuts that fired."""
    mode: CutMode | None
    """The fault in force, None when forwarding."""
    armed: bool


@dataclass
class _Trigger:
    pattern: bytes
    mode: CutMode
    direction: Direction
    forward_first: bool


@dataclass
class _Link:
    """One client connection and its connection to the server."""

    client: socket.socket
    server: socket.socket
    to_server: bytearray = field(default_factory=bytearray)
    to_client: bytearray = field(default_factory=bytearray)
    client_eof: bool = False
    server_eof: bool = False
    server_shut: bool = False
    client_shut: bool = False
    tails: dict[Direction, bytes] = field(
        default_factory=lambda: {"to_server": b"", "to_client": b""}
    )


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target_host`:`target_port` until told to fail.

    Use it as a context manager, or call start() and close(). The listening port is chosen by the
    OS at start() and kept across cut("refuse") and restore().
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._port = 0
        self._listener: socket.socket | None = None
        self._selector = selectors.DefaultSelector()
        self._masks: dict[socket.socket, int] = {}
        self._links: list[_Link] = []
        self._mode: CutMode | None = None
        self._trigger: _Trigger | None = None
        self._commands: list[tuple[Callable[[], object], _Reply]] = []
        self._commands_lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._closed = False
        self._failure: BaseException | None = None
        self._sent = {"to_server": 0, "to_client": 0}
        self._accepted = 0
        self._cuts = 0

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("the proxy has no port until start()")
        return self._port

    def start(self) -> TcpProxy:
        if self._thread is not None or self._closed:
            raise RuntimeError("a proxy starts once")
        self._open_listener()
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._thread = threading.Thread(
            target=self._run, name=f"tcp-proxy-{self._port}", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stops the loop, closes every socket and joins the thread; re-raises a loop failure."""
        if self._closed:
            return
        self._closed = True
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._stopping = True
            self._wake()
            thread.join(PATIENCE_S)
            if thread.is_alive():
                raise RuntimeError("the proxy thread did not stop")
        self._teardown()
        if self._failure is not None:
            raise RuntimeError("the proxy loop failed") from self._failure

    def __enter__(self) -> TcpProxy:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- fault controls -------------------------------------------------------------------------

    def cut(self, mode: CutMode) -> None:
        """Breaks the link now.

        "refuse": the listener closes (new connects get ECONNREFUSED) and every live connection is
        closed on both sides. "reset": every live connection is aborted with an RST on both sides;
        new connections are accepted and reset at once. "blackhole": connections stay open and new
        ones are accepted, but nothing is forwarded either way (bytes read are held, and delivered
        if restore() comes), so clients wait until their own timeouts.
        """
        self._call(lambda: self._cut(mode))

    def restore(self) -> None:
        """Forwards again: the listener reopens on the same port, held bytes are delivered."""
        self._call(self._restore)

    def arm_cut_on(
        self,
        pattern: bytes,
        *,
        mode: CutMode = "reset",
        direction: Direction = "to_server",
        forward_first: bool = True,
    ) -> None:
        """Cuts in `mode` the next time `pattern` passes in `direction` (on any connection).

        With forward_first the chunk that holds the pattern is written on before the cut (the
        server gets b"COMMIT" and may or may not commit it before the RST); without it the chunk is
        dropped. b"COMMIT" to_client with forward_first=False is the server's CommandComplete: the
        commit is done and its acknowledgement is lost. The pattern may span two reads. The
        trigger fires once; the mode stays in force until restore().
        """
        if not pattern:
            raise ValueError("an empty pattern would match everything")
        trigger = _Trigger(pattern, mode, direction, forward_first)
        self._call(lambda: self._arm(trigger))

    def disarm(self) -> None:
        self._call(lambda: self._arm(None))

    # -- observing ----------------------------------------------------------------------------

    def stats(self) -> ProxyStats:
        if self._thread is None or not self._thread.is_alive():
            return self._snapshot()
        return self._call(self._snapshot)

    def wait_until(
        self, predicate: Callable[[ProxyStats], bool], timeout: float = PATIENCE_S
    ) -> ProxyStats:
        """Blocks until `predicate(stats)` holds; raises TimeoutError after `timeout` seconds."""
        with self._changed:
            ok = self._changed.wait_for(lambda: predicate(self._snapshot()), timeout)
        if not ok:
            raise TimeoutError(f"proxy never reached the expected state: {self._snapshot()}")
        return self._snapshot()

    def _snapshot(self) -> ProxyStats:
        links = list(self._links)
        return ProxyStats(
            bytes_to_server=self._sent["to_server"],
            bytes_to_client=self._sent["to_client"],
            held_to_server=sum(len(link.to_server) for link in links),
            held_to_client=sum(len(link.to_client) for link in links),
            connections_accepted=self._accepted,
            live_connections=len(links),
            cuts=self._cuts,
            mode=self._mode,
            armed=self._trigger is not None,
        )

    # -- talking to the loop --------------------------------------------------------------------

    def _call(self, fn: Callable[[], _T]) -> _T:
        """Runs `fn` on the loop thread and returns its result, so no state is shared unlocked."""
        thread = self._thread
        if thread is None or self._closed:
            raise RuntimeError("the proxy is not running")
        if self._failure is not None:
            raise RuntimeError("the proxy loop failed") from self._failure
        reply = _Reply()
        with self._commands_lock:
            self._commands.append((fn, reply))
        self._wake()
        if not reply.done.wait(PATIENCE_S):
            raise RuntimeError("the proxy loop did not answer") from self._failure
        if reply.error is not None:
            raise reply.error
        return cast(_T, reply.value)

    def _wake(self) -> None:
        # A full or closed wake-up pipe means the loop is awake already, or gone.
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    # -- the loop -------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping:
                self._sync_interest()
                for key, events in self._selector.select():
                    self._dispatch(key.fileobj, events)  # type: ignore[arg-type]
                self._run_commands()
                with self._changed:
                    self._changed.notify_all()
        except BaseException as error:  # the thread boundary: kept and raised by close()
            self._failure = error
        finally:
            self._fail_commands()
            with self._changed:
                self._changed.notify_all()

    def _run_commands(self) -> None:
        with self._commands_lock:
            commands, self._commands = self._commands, []
        for fn, reply in commands:
            try:
                reply.value = fn()
            except Exception as error:  # handed back to the caller's thread
                reply.error = error
            reply.done.set()

    def _fail_commands(self) -> None:
        with self._commands_lock:
            commands, self._commands = self._commands, []
        for _, reply in commands:
            reply.error = RuntimeError("the proxy stopped")
            reply.done.set()

    def _dispatch(self, sock: socket.socket, events: int) -> None:
        if sock is self._wake_r:
            try:
                while self._wake_r.recv(4096):
                    pass
            except BlockingIOError:
                pass
            return
        if sock is self._listener:
            self._accept()
            return
        link = self._link_of(sock)
        if link is None:
            return  # closed earlier in this same round of events
        if events & selectors.EVENT_WRITE:
            self._flush(link, "to_server" if sock is link.server else "to_client")
        if events & selectors.EVENT_READ and link in self._links:
            self._read(link, "to_server" if sock is link.client else "to_client")

    def _link_of(self, sock: socket.socket) -> _Link | None:
        for link in self._links:
            if sock is link.client or sock is link.server:
                return link
        return None

    def _sync_interest(self) -> None:
        """Registers each socket for what it can do now; a socket with nothing to do is left out."""
        wanted: dict[socket.socket, int] = {}
        if self._listener is not None:
            wanted[self._listener] = selectors.EVENT_READ
        forwarding = self._mode is None
        for link in self._links:
            for sock, eof, inbound, outbound in (
                (link.client, link.client_eof, link.to_server, link.to_client),
                (link.server, link.server_eof, link.to_client, link.to_server),
            ):
                mask = 0
                if not eof and len(inbound) < _HOLD_LIMIT:
                    mask |= selectors.EVENT_READ
                if forwarding and outbound:
                    mask |= selectors.EVENT_WRITE
                if mask:
                    wanted[sock] = mask
        for sock in [s for s in self._masks if s not in wanted]:
            self._selector.unregister(sock)
            del self._masks[sock]
        for sock, mask in wanted.items():
            if sock not in self._masks:
                self._selector.register(sock, mask)
            elif self._masks[sock] != mask:
                self._selector.modify(sock, mask)
            self._masks[sock] = mask

    def _forget(self, sock: socket.socket) -> None:
        if sock in self._masks:
            self._selector.unregister(sock)
            del self._masks[sock]

    # -- connections ----------------------------------------------------------------------------

    def _open_listener(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(("127.0.0.1", self._port))
            listener.listen(64)
        except OSError:
            listener.close()
            raise
        listener.setblocking(False)
        self._port = listener.getsockname()[1]
        self._listener = listener

    def _close_listener(self) -> None:
        if self._listener is not None:
            self._forget(self._listener)
            self._listener.close()
            self._listener = None

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # the client gave up between SYN and accept
            self._accepted += 1
            if self._mode == "reset":
                _abort(client)
                continue
            try:
                # A blocking connect is fine on loopback: it succeeds or is refused at once.
                server = socket.create_connection(self.target, timeout=PATIENCE_S)
            except OSError:
                _abort(client)  # the server is down: the client learns it as a reset
                continue
            for sock in (client, server):
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._links.append(_Link(client, server))

    def _read(self, link: _Link, direction: Direction) -> None:
        source = link.client if direction == "to_server" else link.server
        try:
            chunk = source.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(link, rst=True)  # a reset on one side is passed on to the other
            return
        if not chunk:
            if direction == "to_server":
                link.client_eof = True
            else:
                link.server_eof = True
            self._forget(source)
            self._flush(link, direction)
            return
        trigger = self._trigger
        if trigger is not None and trigger.direction == direction:
            window = link.tails[direction] + chunk
            if trigger.pattern in window:
                self._trigger = None
                if trigger.forward_first and self._mode is None:
                    self._send_now(link, direction, chunk)
                self._cut(trigger.mode)
                return
            keep = len(trigger.pattern) - 1
            link.tails[direction] = window[len(window) - keep :] if keep else b""
        (link.to_server if direction == "to_server" else link.to_client).extend(chunk)
        self._flush(link, direction)

    def _send_now(self, link: _Link, direction: Direction, chunk: bytes) -> None:
        """Writes what is held and `chunk` before a cut, waiting for room rather than losing it."""
        target = link.server if direction == "to_server" else link.client
        pending = link.to_server if direction == "to_server" else link.to_client
        data = bytes(pending) + chunk
        pending.clear()
        try:
            target.settimeout(PATIENCE_S)
            target.sendall(data)
            self._sent[direction] += len(data)
        except OSError:
            pass  # that side is gone already; the cut follows anyway
        finally:
            target.setblocking(False)

    def _flush(self, link: _Link, direction: Direction) -> None:
        """Writes what is held for one direction, when forwarding; passes on an EOF once drained."""
        if self._mode is not None:
            return
        target = link.server if direction == "to_server" else link.client
        pending = link.to_server if direction == "to_server" else link.to_client
        while pending:
            try:
                sent = target.send(pending)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._drop(link, rst=True)
                return
            self._sent[direction] += sent
            del pending[:sent]
        eof = link.client_eof if direction == "to_server" else link.server_eof
        if eof:
            with contextlib.suppress(OSError):  # that side is gone too; the link closes below
                target.shutdown(socket.SHUT_WR)
            if direction == "to_server":
                link.server_shut = True
            else:
                link.client_shut = True
        if link.server_shut and link.client_shut:
            self._drop(link, rst=False)

    def _drop(self, link: _Link, *, rst: bool) -> None:
        if link not in self._links:
            return
        self._links.remove(link)
        for sock in (link.client, link.server):
            self._forget(sock)
            if rst:
                _abort(sock)
            else:
                sock.close()

    # -- faults, run on the loop thread -----------------------------------------------------------

    def _cut(self, mode: CutMode) -> None:
        self._cuts += 1
        self._mode = mode
        if mode == "refuse":
            self._close_listener()
            for link in list(self._links):
                self._drop(link, rst=False)
        elif mode == "reset":
            for link in list(self._links):
                self._drop(link, rst=True)

    def _restore(self) -> None:
        if self._listener is None:
            self._open_listener()
        self._mode = None
        for link in list(self._links):
            self._flush(link, "to_server")
            if link in self._links:
                self._flush(link, "to_client")

    def _arm(self, trigger: _Trigger | None) -> None:
        self._trigger = trigger
        for link in self._links:
            link.tails = {"to_server": b"", "to_client": b""}

    def _teardown(self) -> None:
        for link in list(self._links):
            self._drop(link, rst=False)
        self._close_listener()
        for sock in list(self._masks):
            self._forget(sock)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()


class _Reply:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: object = None
        self.error: BaseException | None = None


def _abort(sock: socket.socket) -> None:
    """Closes with an RST instead of a FIN: linger on, timeout zero."""
    with contextlib.suppress(OSError):  # already dead: close() is all that is left to do
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
