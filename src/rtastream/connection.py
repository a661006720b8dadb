"""Where to reach Redis: URL checks and connection options, in one place for the writers and
the command line. redis-py parses the URL; what it would accept silently (a database that is
not a number, a misspelled keyword) is refused here first, with a message naming it.

A Sentinel URL, `redis+sentinel://[USER:PASSWORD@]HOST[:PORT][,HOST[:PORT]...]/SERVICE[/DB]`
(`rediss+sentinel://` for TLS), names the sentinels to ask and the service whose master to
use; redis-py has no URL for it, so it is read here.
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import redis
import redis.asyncio
import redis.asyncio.sentinel
import redis.cluster
import redis.exceptions
import redis.sentinel
from redis.connection import parse_url

from rtastream.errors import RedisAuthenticationError, RedisRefused, RedisUnavailable

SCHEMES = (
    "redis://HOST[:PORT][/DB], rediss://..., unix:///PATH or "
    "redis+sentinel://HOST[:PORT][,HOST[:PORT]...]/SERVICE[/DB]"
)
SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
SENTINEL_PORT = 26379

CLUSTER_OVER_UNIX = (
    "it belongs to a Redis Cluster, whose nodes are reached over TCP: use a redis:// or "
    "rediss:// url of any node"
)


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


def check_url(url: str, what: str = "Redis url") -> None:
    """Raise ValueError ("bad <what> '<url>': <problem>", password hidden) unless `url` can
    name a Redis server."""
    problem = _url_problem(url)
    if problem is not None:
        raise ValueError(f"bad {what} {redact(url)!r}: {problem}")


def _url_problem(url: str) -> str | None:
    if not isinstance(url, str):
        return f"expected {SCHEMES}, not {type(url).__name__}"
    try:
        parts = urlsplit(url)
        if parts.scheme in SENTINEL_SCHEMES:
            parse_sentinel_url(url)
            return None
        _ = parts.port  # raises on a non-numeric or out-of-range port
    except ValueError as e:
        return str(e)
    if parts.scheme == "unix":
        return None if parts.path else "unix:// needs a socket path"
    if parts.scheme not in ("redis", "rediss"):
        return f"expected {SCHEMES}"
    if not parts.hostname:
        return "no host"
    db = parts.path.strip("/")
    if db and not db.isdigit():
        return f"database {db!r} is not a number"
    return None


def is_sentinel_url(url: str) -> bool:
    return isinstance(url, str) and urlsplit(url).scheme in SENTINEL_SCHEMES


@dataclass(frozen=True)
class SentinelURL:
    """A Sentinel URL's parts: the sentinels' addresses, the service, and the master's
    connection options (credentials, database, query arguments) as a redis:// URL (rediss://
    for TLS) with a stand-in host."""

    sentinels: list[tuple[str, int]]
    service: str
    master_url: str
    address: str  # the URL without password nor query, for messages


def parse_sentinel_url(url: str) -> SentinelURL:
    """Raise ValueError naming the problem unless `url` is a well-formed Sentinel URL."""
    parts = urlsplit(url)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    sentinels = [_sentinel_address(host) for host in hosts.split(",")]
    service, _, db = parts.path.strip("/").partition("/")
    if not service:
        raise ValueError(f"no service name: expected {parts.scheme}://HOST[:PORT][,...]/SERVICE")
    if db and not db.isdigit():
        raise ValueError(f"database {db!r} is not a number")
    scheme = "rediss" if parts.scheme == "rediss+sentinel" else "redis"
    at = f"{userinfo}@" if userinfo else ""
    master_url = f"{scheme}://{at}master/{db}?{parts.query}"
    parse_url(master_url)  # type: ignore[no-untyped-call]  # query arguments as redis-py reads them
    return SentinelURL(sentinels, service, master_url, redact(url).partition("?")[0])


def _sentinel_address(host_port: str) -> tuple[str, int]:
    address = urlsplit(f"//{host_port}")
    if not address.hostname:
        raise ValueError("no host")
    return address.hostname, address.port or SENTINEL_PORT


def sentinel_options(options: dict[str, Any], tls: bool) -> dict[str, Any]:
    """How the sentinels are reached: `sentinel_kwargs` if the options give it, else the
    options' socket_* and ssl* ones (TLS to the sentinels too with rediss+sentinel://)."""
    given = options.get("sentinel_kwargs")
    if given is not None:
        return dict(given)
    kwargs = {k: v for k, v in options.items() if k.startswith(("socket_", "ssl"))}
    return {**kwargs, "ssl": True} if tls else kwargs


class _Sentinel(redis.sentinel.Sentinel):
    """Asks the sentinels, then closes the connections to them: discovery is rare (each new
    connection to the master), and an idle connection left open would outlive its owner."""

    def discover_master(self, service_name: str) -> Any:
        # redis-py 8.2 typed discover_master, earlier releases did not: one cast fits both.
        discover = cast(Callable[[str], Any], super().discover_master)
        try:
            return discover(service_name)
        finally:
            for sentinel in self.sentinels:
                sentinel.connection_pool.disconnect()


class _AsyncSentinel(redis.asyncio.sentinel.Sentinel):
    """asyncio twin of _Sentinel."""

    async def discover_master(self, service_name: str) -> Any:
        try:
            return await super().discover_master(service_name)
        finally:
            for sentinel in self.sentinels:
                await sentinel.connection_pool.disconnect()


def _client(client_class: Any, url: str, options: dict[str, Any]) -> Any:
    """client_class (redis-py's Redis, sync or asyncio) for `url`; for a Sentinel URL, one
    whose connections ask the sentinels where the master is (redis-py's Sentinel)."""
    if not is_sentinel_url(url):
        return client_class.from_url(url, **options)
    parsed = parse_sentinel_url(url)
    master = parse_url(parsed.master_url)  # type: ignore[no-untyped-call]
    del master["host"]
    tls = master.pop("connection_class", None) is not None
    master.update(options)
    kwargs = sentinel_options(master, tls)
    master.pop("sentinel_kwargs", None)
    asynchronous = client_class is redis.asyncio.Redis
    sentinel_class = _AsyncSentinel if asynchronous else _Sentinel
    sentinel = sentinel_class(parsed.sentinels, sentinel_kwargs=kwargs)
    module: Any = redis.asyncio.sentinel if asynchronous else redis.sentinel
    pool = module.SentinelConnectionPool(parsed.service, sentinel, ssl=tls, **master)
    return client_class.from_pool(pool)


def _address(url: str) -> str | None:
    """What to name in messages for `url`, if its pool's own address would not do."""
    return parse_sentinel_url(url).address if is_sentinel_url(url) else None


def pool_from_url(
    pool_class: type[Any],
    url: str,
    options: dict[str, Any],
    *,
    caller: str,
    own: tuple[str, ...] = (),
) -> Any:
    """`pool_class.from_url(url, **options)` once the URL and every option name are checked:
    an unknown keyword is a TypeError naming it (redis-py would fail only when connecting).
    `own` are the caller's own keywords, offered as suggestions too."""
    check_url(url)
    try:
        pool = pool_class.from_url(url, **options)
    except ValueError as e:  # e.g. a query argument that is not a number
        raise ValueError(f"bad Redis url {redact(url)!r}: {e}") from None
    known = _keywords(pool_class, pool.connection_class)
    for name in options:
        if name not in known:
            close = difflib.get_close_matches(name, [*own, *known], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise TypeError(f"{caller} got an unexpected keyword argument {name!r}{hint}")
    return pool


def _keywords(*classes: type) -> set[str]:
    """Every named parameter the classes' __init__ methods (and their bases') accept."""
    names: set[str] = set()
    for cls in classes:
        for base in cls.__mro__:
            init = vars(base).get("__init__")
            if init is None or base is object:
                continue
            names.update(
                name
                for name, p in inspect.signature(init).parameters.items()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            )
    names.discard("self")
    return names


def address_of(connection_kwargs: dict[str, Any]) -> str:
    """Where a pool connects, for error messages (never the password)."""
    if "path" in connection_kwargs:
        return f"unix://{connection_kwargs['path']}"
    host, port = connection_kwargs.get("host", "localhost"), connection_kwargs.get("port", 6379)
    return f"{host}:{port}"


CONNECTION_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
"""What redis-py raises when a connection cannot be made or is lost."""


CONNECT_ERRORS = (
    *CONNECTION_ERRORS,
    redis.exceptions.ResponseError,
    redis.exceptions.InvalidResponse,
)
"""What redis-py raises when connecting fails (SELECT's refusal is a ResponseError; an
answer that is not RESP at all, from a server that is not Redis, an InvalidResponse)."""


def connect_failure(error: Exception, node: Any, address: str | None = None) -> Exception:
    """redis-py's failure to connect (and authenticate, select the database) to a node (a
    redis-py connection pool, or anything with its connection_class and connection_kwargs)
    as one of ours, naming the address (the node's, if not given) and the cause in one line."""
    connection_kwargs = node.connection_kwargs
    address = address or address_of(connection_kwargs)
    if isinstance(error, redis.exceptions.AuthenticationError):
        if connection_kwargs.get("password") is None:
            return RedisAuthenticationError(
                address, (f"it needs a password (redis://[USER]:PASSWORD@HOST...): {error}")
            )
        user = connection_kwargs.get("username") or "default"
        return RedisAuthenticationError(address, f"user {user!r}: {error}")
    if isinstance(error, redis.exceptions.ResponseError) and "DB index" in str(error):
        return RedisRefused(address, f"no database {connection_kwargs.get('db')} ({error})")
    if isinstance(error, redis.exceptions.ResponseError) and "cluster mode" in str(error):
        return RedisRefused(
            address,
            f"it is a Redis Cluster node, and a cluster has database 0 only: drop "
            f"/{connection_kwargs.get('db')} from the url ({error})",
        )
    if isinstance(error, redis.exceptions.InvalidResponse):
        return RedisUnavailable(
            address, f"it is not a Redis server (its answer is not RESP: {error})"
        )
    if isinstance(error, RedisUnavailable | RedisRefused) or not isinstance(
        error, CONNECTION_ERRORS
    ):
        return error
    reason = str(error) or type(error).__name__
    if issubclass(node.connection_class, (redis.SSLConnection, redis.asyncio.SSLConnection)):
        # A plain server never answers the TLS handshake, or answers it with garbage.
        reason += " (rediss:// speaks TLS: is this a plain redis:// server?)"
    return RedisUnavailable(address, reason)


def client_for(url: str, **options: Any) -> redis.Redis | redis.cluster.RedisCluster:
    """A redis-py client for `url`: a RedisCluster if the node says it belongs to a cluster
    (INFO cluster), else a Redis (for a Sentinel URL, of the master the sentinels name);
    `options` are redis-py's. The node is asked here, so failing to reach it raises what
    connect_failure() makes of it."""
    check_url(url)
    probe: redis.Redis = _client(redis.Redis, url, options)
    try:
        clustered = _clustered(probe.info("cluster"), probe.connection_pool)
    except CONNECT_ERRORS as e:
        probe.close()
        raise connect_failure(e, probe.connection_pool, _address(url)) from e
    if not clustered:
        return probe
    probe.close()
    return redis.cluster.RedisCluster.from_url(url, **options)


async def async_client_for(
    url: str, **options: Any
) -> redis.asyncio.Redis | redis.asyncio.RedisCluster:
    """The asyncio twin of client_for()."""
    check_url(url)
    probe: redis.asyncio.Redis = _client(redis.asyncio.Redis, url, options)
    try:
        clustered = _clustered(await probe.info("cluster"), probe.connection_pool)
    except CONNECT_ERRORS as e:
        await probe.aclose()
        raise connect_failure(e, probe.connection_pool, _address(url)) from e
    if not clustered:
        return probe
    await probe.aclose()
    return redis.asyncio.RedisCluster.from_url(url, **options)


def _clustered(info: dict[str, Any], pool: Any) -> bool:
    """Whether INFO cluster says the node belongs to a cluster (reached over TCP only)."""
    if not info.get("cluster_enabled"):
        return False
    if "path" in pool.connection_kwargs:
        raise RedisRefused(address_of(pool.connection_kwargs), CLUSTER_OVER_UNIX)
    return True
