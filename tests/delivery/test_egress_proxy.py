"""Deliveries through an HTTP ``CONNECT`` egress proxy (``HOOKWISE_EGRESS_PROXY``).

The proxy is a small one written here, on 127.0.0.1: it records every ``CONNECT`` target and
the bytes it relays, refuses the hosts it is told to with 403, and can ask for basic auth.
The client under test blocks loopback itself (``NetworkPolicy()``), so a name reaching the
loopback target shows that resolving it, and deciding whether it may be reached, is the
proxy's job once one is set.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvloop
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from hookwise.composition import open_services
from hookwise.delivery.dialer import EgressProxy
from hookwise.delivery.http1 import Http1Client, RequestFailed, tls_context
from hookwise.delivery.target import parse_target
from hookwise.domain.errors import InvalidInput
from hookwise.egress.ssrf import NetworkPolicy
from hookwise.settings import Settings
from tests.delivery.test_http1 import claim

WAIT = 5.0
GUARDED = NetworkPolicy()  # loopback refused: only the proxy can take us there


@dataclass
class Tunnel:
    target: str
    headers: dict[str, str]
    relayed: bytearray = field(default_factory=bytearray)  # client to target, as it passed


class ConnectProxy:
    """A CONNECT-only proxy on 127.0.0.1 that relays bytes both ways."""

    def __init__(
        self, *, deny: tuple[str, ...] = (), auth: str | None = None, reply: bytes | None = None
    ) -> None:
        self.deny = deny
        self.auth = auth  # "user:password" required as Proxy-Authorization, if set
        self.reply = reply  # a fixed answer to every CONNECT instead of proxying
        self.tunnels: list[Tunnel] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for w in self._writers:
            w.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            line, *lines = head.split("\r\n")
            method, target, _ = line.split(" ")
            headers = {}
            for text in lines:
                if text:
                    name, _, value = text.partition(":")
                    headers[name.lower()] = value.strip()
            tunnel = Tunnel(target, headers)
            self.tunnels.append(tunnel)
            host, _, port = target.rpartition(":")
            host = host.strip("[]")
            if self.reply is not None:
                writer.write(self.reply)
            elif method != "CONNECT":
                writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            elif self.auth and headers.get("proxy-authorization") != _basic(self.auth):
                writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
            elif host in self.deny:
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\ndenied")
            else:
                up_reader, up_writer = await asyncio.open_connection(host, int(port))
                self._writers.append(up_writer)
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await asyncio.gather(
                    _pipe(reader, up_writer, tunnel.relayed), _pipe(up_reader, writer, None)
                )
                return
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def _basic(userinfo: str) -> str:
    return "Basic " + base64.b64encode(userinfo.encode()).decode()


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: bytearray | None
) -> None:
    try:
        while data := await reader.read(65536):
            if record is not None:
                record += data
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


class Target:
    """The endpoint: answers every request on a connection with 200 and a body naming it."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.requests: list[bytes] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for text in head.decode("latin-1").split("\r\n"):
                    if text.lower().startswith("content-length:"):
                        length = int(text.split(":", 1)[1])
                await reader.readexactly(length)
                self.requests.append(head)
                body = b"reached %d" % len(self.requests)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[ConnectProxy]:
    p = ConnectProxy()
    await p.start()
    yield p
    await p.stop()


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    t = Target()
    await t.start()
    yield t
    await t.stop()


@dataclass(frozen=True)
class SelfSigned:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> SelfSigned:
    """A self-signed certificate for ``localhost``, trusted through HOOKWISE_CA_BUNDLE only."""
    out = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    paths = SelfSigned(out / "cert.pem", out / "key.pem")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def through(proxy: ConnectProxy | str, **kwargs: object) -> Http1Client:
    url = proxy if isinstance(proxy, str) else proxy.url
    return Http1Client(GUARDED, proxy=EgressProxy.from_url(url), **kwargs)  # type: ignore[arg-type]


async def post(client: Http1Client, url: str) -> bytes:
    t = parse_target(url)
    request = t.prefix + b"Content-Length: 2\r\n\r\n{}"
    try:
        return (await client.post(t, request, WAIT)).body
    finally:
        await client.close()


# --- through the proxy -------------------------------------------------------------------------


async def test_an_http_target_is_reached_through_a_connect_tunnel(
    proxy: ConnectProxy, target: Target
) -> None:
    client = through(proxy)
    t = parse_target(f"http://localhost:{target.port}/hook?a=1")
    request = t.prefix + b"Content-Length: 2\r\n\r\n{}"
    assert (await client.post(t, request, WAIT)).body == b"reached 1"
    assert (await client.post(t, request, WAIT)).body == b"reached 2"  # the tunnel is reused
    await client.close()
    (tunnel,) = proxy.tunnels
    assert tunnel.target == f"localhost:{target.port}"
    assert tunnel.headers["host"] == f"localhost:{target.port}"
    assert "proxy-authorization" not in tunnel.headers
    assert target.requests[0].startswith(b"POST /hook?a=1 HTTP/1.1\r\nHost: localhost:")


async def _https_through_the_proxy(self_signed: SelfSigned) -> tuple[list[Tunnel], list[bytes]]:
    proxy, target = ConnectProxy(), Target(self_signed.server_context())
    await proxy.start()
    await target.start()
    try:
        client = through(proxy, ssl_context=tls_context(str(self_signed.cert)))
        assert await post(client, f"https://localhost:{target.port}/secure") == b"reached 1"
        with pytest.raises(RequestFailed, match=r"^TLS certificate error: "):
            await post(through(proxy), f"https://localhost:{target.port}/secure")
    finally:
        await proxy.stop()
        await target.stop()
    return proxy.tunnels, target.requests


async def test_tls_runs_end_to_end_inside_the_tunnel(self_signed: SelfSigned) -> None:
    tunnels, requests = await _https_through_the_proxy(self_signed)
    assert [t.target for t in tunnels] == [tunnels[0].target] * 2
    assert tunnels[0].target.startswith("localhost:")
    assert requests[0].startswith(b"POST /secure HTTP/1.1")
    assert b"POST" not in tunnels[0].relayed  # the proxy relayed ciphertext only
    assert len(requests) == 1  # the client without the CA bundle refused the certificate


def test_the_proxy_path_works_on_uvloop_too(self_signed: SelfSigned) -> None:
    """hookwise serve runs on uvloop: sock_connect, sock_recv and create_connection(sock=)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        tunnels, requests = runner.run(_https_through_the_proxy(self_signed))
    assert len(tunnels) == 2 and len(requests) == 1


async def test_a_target_the_proxy_refuses_fails_with_its_answer(target: Target) -> None:
    proxy = ConnectProxy(deny=("localhost",))
    await proxy.start()
    try:
        with pytest.raises(RequestFailed) as e:
            await post(through(proxy), f"http://localhost:{target.port}/")
    finally:
        await proxy.stop()
    assert str(e.value) == (
        f"egress proxy 127.0.0.1:{proxy.port} refused CONNECT localhost:{target.port}: "
        "HTTP 403 Forbidden"
    )
    assert target.requests == []


async def test_proxy_basic_auth_from_the_url(target: Target) -> None:
    proxy = ConnectProxy(auth="hook wise:p@ss:w")
    await proxy.start()
    try:
        url = f"http://hook%20wise:p%40ss%3Aw@127.0.0.1:{proxy.port}"
        assert await post(through(url), f"http://localhost:{target.port}/") == b"reached 1"
        with pytest.raises(RequestFailed, match=r"HTTP 407 Proxy Authentication Required$"):
            await post(through(proxy), f"http://localhost:{target.port}/")
    finally:
        await proxy.stop()
    assert proxy.tunnels[0].headers["proxy-authorization"] == _basic("hook wise:p@ss:w")


async def test_an_ip_literal_is_still_checked_before_the_proxy(
    proxy: ConnectProxy, target: Target
) -> None:
    with pytest.raises(RequestFailed, match=r"^blocked by the SSRF guard: 127\.0\.0\.1 is a loop"):
        await post(through(proxy), f"http://127.0.0.1:{target.port}/")
    assert proxy.tunnels == []


async def test_an_unreachable_proxy() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RequestFailed, match=rf"^egress proxy 127\.0\.0\.1:{port} unreachable: "):
        await post(through(f"http://127.0.0.1:{port}"), "http://example.com/")


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            b"HTTP/1.1 200 OK\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n",
            r"header line longer than 8190",
        ),
        (b"SSH-2.0-OpenSSH\r\n\r\n", r"gave an invalid answer: 'SSH-2.0-OpenSSH'$"),
        (
            b"HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
            r"sent bytes after its CONNECT answer$",
        ),
        (b"HTTP/1.1 200 Connection", r"closed the connection on CONNECT$"),
    ],
    ids=["huge-head", "not-http", "extra-bytes", "cut-short"],
)
async def test_a_proxy_answer_that_is_not_a_clean_tunnel(reply: bytes, expected: str) -> None:
    proxy = ConnectProxy(reply=reply)
    await proxy.start()
    try:
        with pytest.raises(RequestFailed, match=r"^egress proxy 127\.0\.0\.1:\d+:? .*" + expected):
            await post(through(proxy), "http://example.com/")
    finally:
        await proxy.stop()


# --- the setting -------------------------------------------------------------------------------


def test_proxy_url_parsing() -> None:
    p = EgressProxy.from_url("http://u%3A1:pw@proxy.internal:4750")
    assert (p.host, p.port, p.name) == ("proxy.internal", 4750, "proxy.internal:4750")
    assert p.authorization == _basic("u:1:pw")
    assert "pw" not in repr(p) and "Basic" not in repr(p)
    assert EgressProxy.from_url("http://[::1]").connect_request("::1", 443) == (
        b"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n"
    )
    for bad in ("https://proxy:4750", "socks5://proxy:1080", "http://proxy:4750/x", "http://:1"):
        with pytest.raises(InvalidInput):
            EgressProxy.from_url(bad)


def test_the_setting_is_checked_at_start_and_hidden_in_repr(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="HOOKWISE_EGRESS_PROXY must be an http://host:port"):
        Settings(egress_proxy="https://proxy:4750")
    s = Settings(db=f"sqlite:///{tmp_path / 'x.db'}", egress_proxy="http://u:hunter2@proxy:4750")
    assert "hunter2" not in repr(s)


async def test_composition_wires_proxy_and_ca_bundle_into_the_sender(
    tmp_path: Path, self_signed: SelfSigned, proxy: ConnectProxy
) -> None:
    """HOOKWISE_EGRESS_PROXY and HOOKWISE_CA_BUNDLE, end to end through the sender."""
    target = Target(self_signed.server_context())
    await target.start()
    settings = Settings(
        db=f"sqlite:///{tmp_path / 'hookwise.db'}",
        egress_proxy=proxy.url,
        ca_bundle=str(self_signed.cert),
    )
    services = await open_services(settings)
    try:
        result = await services.sender.send(claim(f"https://localhost:{target.port}/in"))
    finally:
        await services.close()
        await target.stop()
    assert (result.status_code, result.error, result.response_body) == (200, None, "reached 1")
    assert [t.target for t in proxy.tunnels] == [f"localhost:{target.port}"]


async def test_the_sender_reports_a_refusal_by_the_proxy(tmp_path: Path, target: Target) -> None:
    proxy = ConnectProxy(deny=("localhost",))
    await proxy.start()
    settings = Settings(db=f"sqlite:///{tmp_path / 'hookwise.db'}", egress_proxy=proxy.url)
    services = await open_services(settings)
    try:
        result = await services.sender.send(claim(f"http://localhost:{target.port}/in"))
    finally:
        await services.close()
        await proxy.stop()
    assert result.status_code is None
    assert result.error is not None and result.error.endswith("HTTP 403 Forbidden")
