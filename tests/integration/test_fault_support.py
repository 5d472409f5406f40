"""The fault-drill tools themselves, on real parts: the TCP proxy in front of the real PostgreSQL
(and in front of a plain echo server, for the byte-level promises), and a private cluster that is
crashed and restarted."""

from __future__ import annotations

import socket
import socketserver
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from tests.support.databases import PgServer
from tests.support.pg_cluster import PgCluster, cluster_or_skip
from tests.support.proxy import PATIENCE_S, CutMode, Direction, TcpProxy

CONNECT_TIMEOUT_S = 2
"""libpq's smallest connect_timeout: a connection into a black hole gives up after it."""


def _proxy_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("tcp-proxy-")]


def _engine(url: str) -> Engine:
    # One fresh TCP connection per connect(), so each one meets the fault in force.
    return create_engine(
        url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_S}
    )


def _select_one(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT 1")).scalar_one())


# -- the proxy in front of a plain echo server ------------------------------------------------------


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        try:
            while data := self.request.recv(65536):
                self.request.sendall(data)
        except OSError:
            pass  # the proxy reset the link: that is what the test does


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, name="echo-server")
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()  # joins the handler threads
    thread.join()


@pytest.fixture
def echo_proxy(echo_port: int) -> Iterator[TcpProxy]:
    with TcpProxy("127.0.0.1", echo_port) as proxy:
        yield proxy
    assert not _proxy_threads()


def _dial(proxy: TcpProxy) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", proxy.port), timeout=PATIENCE_S)
    client.sendall(b"hello")
    assert _recv_exactly(client, 5) == b"hello"
    return client


def _recv_exactly(client: socket.socket, size: int) -> bytes:
    got = b""
    while len(got) < size:
        chunk = client.recv(size - len(got))
        if not chunk:
            break
        got += chunk
    return got


def test_reset_sends_an_rst_and_refuse_a_fin_then_refuses(echo_proxy: TcpProxy) -> None:
    with _dial(echo_proxy) as client:
        echo_proxy.cut("reset")
        with pytest.raises(ConnectionResetError):
            client.recv(1)
    echo_proxy.restore()
    with _dial(echo_proxy) as client:
        echo_proxy.cut("refuse")
        assert client.recv(1) == b""  # an orderly close, as from a server that went away
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", echo_proxy.port), timeout=PATIENCE_S)
    echo_proxy.restore()
    with _dial(echo_proxy):
        pass
    stats = echo_proxy.stats()
    assert stats.cuts == 2
    assert stats.connections_accepted == 3


def test_blackhole_holds_bytes_and_restore_delivers_them(echo_proxy: TcpProxy) -> None:
    with _dial(echo_proxy) as client:
        before = echo_proxy.stats()
        echo_proxy.cut("blackhole")
        client.sendall(b"held")
        echo_proxy.wait_until(lambda s: s.held_to_server == 4)
        assert echo_proxy.stats().bytes_to_server == before.bytes_to_server
        echo_proxy.restore()
        assert _recv_exactly(client, 4) == b"held"


def test_armed_cut_finds_a_pattern_split_across_reads(echo_proxy: TcpProxy) -> None:
    with _dial(echo_proxy) as client:
        echo_proxy.arm_cut_on(b"COMMIT", mode="reset", forward_first=False)
        sent = echo_proxy.stats().bytes_to_server
        client.sendall(b"xxCOM")
        echo_proxy.wait_until(lambda s: s.bytes_to_server == sent + 5)
        assert _recv_exactly(client, 5) == b"xxCOM"
        client.sendall(b"MITyy")
        with pytest.raises(ConnectionResetError):
            client.recv(1)
    stats = echo_proxy.stats()
    assert stats.cuts == 1
    assert not stats.armed
    assert stats.bytes_to_server == sent + 5  # the chunk with the pattern was dropped


def test_close_leaves_no_thread_and_frees_the_port(echo_port: int) -> None:
    proxy = TcpProxy("127.0.0.1", echo_port).start()
    client = _dial(proxy)
    proxy.cut("blackhole")
    proxy.close()
    assert not _proxy_threads()
    assert client.recv(1) == b""
    client.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=PATIENCE_S)


# -- the proxy in front of the real PostgreSQL ------------------------------------------------------


@pytest.fixture
def fault_db(pg_server: PgServer) -> Iterator[str]:
    """A database of its own with a table `drill`; its direct URL (no proxy)."""
    name = f"perpetua_fault_{pg_server.run_tag}_{uuid.uuid4().hex[:8]}"
    url = pg_server.create(name)
    engine = _engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE drill (id integer PRIMARY KEY, note text)"))
    engine.dispose()
    yield url
    pg_server.drop(name)


@pytest.fixture
def pg_proxy(fault_db: str) -> Iterator[tuple[TcpProxy, Engine]]:
    """A proxy in front of the server, and an engine whose every connection goes through it."""
    direct = make_url(fault_db)
    with TcpProxy(direct.host or "127.0.0.1", direct.port or 5432) as proxy:
        # sslmode=disable: the proxy must see the protocol's bytes to find a COMMIT in them.
        url = direct.set(host="127.0.0.1", port=proxy.port).update_query_dict(
            {"sslmode": "disable"}
        )
        engine = _engine(url.render_as_string(hide_password=False))
        yield proxy, engine
        engine.dispose()
    assert not _proxy_threads()


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["refuse", "reset"])
def test_cut_fails_open_and_new_connections_then_restore_heals(
    pg_proxy: tuple[TcpProxy, Engine], mode: CutMode
) -> None:
    proxy, engine = pg_proxy
    port = proxy.port
    with engine.connect() as open_connection:
        assert open_connection.execute(text("SELECT 1")).scalar_one() == 1
        proxy.cut(mode)
        with pytest.raises(OperationalError, match="closed the connection unexpectedly"):
            open_connection.execute(text("SELECT 1"))
    # A reset during the handshake reads as either, depending on when libpq meets it.
    expected = (
        "Connection refused"
        if mode == "refuse"
        else "Connection reset by peer|closed the connection unexpectedly"
    )
    with pytest.raises(OperationalError, match=expected):
        _select_one(engine)

    proxy.restore()
    assert proxy.port == port
    assert _select_one(engine) == 1
    stats = proxy.stats()
    assert stats.cuts == 1
    assert stats.connections_accepted == (2 if mode == "refuse" else 3)


@pytest.mark.postgres
def test_blackhole_times_out_new_connections_and_stalls_open_ones_until_restore(
    pg_proxy: tuple[TcpProxy, Engine],
) -> None:
    proxy, engine = pg_proxy
    with engine.connect() as open_connection, ThreadPoolExecutor(1) as pool:
        assert open_connection.execute(text("SELECT 1")).scalar_one() == 1
        before = proxy.stats()
        proxy.cut("blackhole")
        stalled = pool.submit(lambda: open_connection.execute(text("SELECT 2")).scalar_one())
        # The query's bytes sit in the proxy: the server cannot have answered it.
        proxy.wait_until(lambda s: s.held_to_server > 0)
        assert not stalled.done()

        with pytest.raises(OperationalError, match="timeout"):
            _select_one(engine)
        assert not stalled.done()
        assert proxy.stats().bytes_to_server == before.bytes_to_server

        proxy.restore()
        assert stalled.result(timeout=PATIENCE_S) == 2
    assert _select_one(engine) == 1


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("direction", "forward_first", "committed"),
    [
        ("to_server", False, False),  # the COMMIT never reaches the server
        ("to_client", False, True),  # the server committed; its answer is lost
        ("to_server", True, None),  # the COMMIT reaches the server just before the RST
    ],
)
def test_cut_armed_on_commit_fails_the_client_while_the_server_decides(
    pg_proxy: tuple[TcpProxy, Engine],
    fault_db: str,
    direction: Direction,
    forward_first: bool,
    committed: bool | None,
) -> None:
    proxy, engine = pg_proxy
    with engine.connect() as connection:
        connection.execute(text("INSERT INTO drill VALUES (1, 'in flight')"))
        proxy.arm_cut_on(b"COMMIT", mode="reset", direction=direction, forward_first=forward_first)
        with pytest.raises(OperationalError):
            connection.commit()
    stats = proxy.stats()
    assert stats.cuts == 1
    assert stats.mode == "reset"

    direct = _engine(fault_db)
    with direct.connect() as check:
        rows = check.execute(text("SELECT count(*) FROM drill")).scalar_one()
    direct.dispose()
    if committed is None:
        assert rows in (0, 1)
    else:
        assert rows == int(committed)


# -- a private cluster, crashed and restarted ---------------------------------------------------


@pytest.fixture
def cluster() -> Iterator[PgCluster]:
    cluster = cluster_or_skip()
    with cluster:
        yield cluster


def test_immediate_restart_keeps_commits_and_breaks_open_connections(cluster: PgCluster) -> None:
    engine = _engine(cluster.create_database("drill"))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE drill (id integer PRIMARY KEY)"))
        connection.execute(text("INSERT INTO drill VALUES (1)"))
    port = cluster.port
    with engine.connect() as open_before:
        assert open_before.execute(text("SELECT 1")).scalar_one() == 1

        cluster.restart(mode="immediate")

        with pytest.raises(OperationalError, match="closed the connection unexpectedly"):
            open_before.execute(text("SELECT 1"))
    assert cluster.port == port
    with engine.connect() as fresh:
        assert fresh.execute(text("SELECT id FROM drill")).scalars().all() == [1]
    engine.dispose()


def test_stopped_cluster_refuses_and_starts_again_on_its_port(cluster: PgCluster) -> None:
    engine = _engine(cluster.url())
    cluster.stop(mode="immediate")
    with pytest.raises(OperationalError, match="Connection refused"):
        _select_one(engine)
    cluster.start()
    assert _select_one(engine) == 1
    engine.dispose()


def test_close_removes_the_cluster_directory() -> None:
    cluster = cluster_or_skip()
    cluster.start()
    directory, port = cluster.directory, cluster.port
    cluster.close()
    assert not directory.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=PATIENCE_S)
