"""The production warehouse: Amazon Redshift over the PostgreSQL wire protocol, driven by
`redshift_connector` (PostgreSQL behind pgbouncer stands in for it in tests).

URL: `redshift://user:password@host:port/database` (`postgresql://` is accepted too), with
optional query parameters `ssl=true|false` (default true for `redshift://`, false for
`postgresql://`), `sslmode=verify-ca|verify-full`, `connect_timeout=<seconds>` (default 10) and
`timeout=<seconds>` (socket timeout for statements; default none). User and password are
percent-decoded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from mlops.adapters.warehouse.base import WarehouseError
from mlops.adapters.warehouse.pooled import PooledWarehouse, chunks

SCHEMES = ("redshift", "postgresql", "postgres")
DEFAULT_PORTS = {"redshift": 5439, "postgresql": 5432, "postgres": 5432}
MAX_PARAMS = 32767  # bind parameters per statement: stay well inside the protocol's limit
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class RedshiftTarget:
    """Where and how to connect (parsed from the URL)."""

    host: str
    port: int
    database: str
    user: str
    password: str
    ssl: bool
    sslmode: str | None = None
    connect_timeout: float = 10.0
    timeout: float | None = None

    def describe(self) -> str:
        return f"Redshift warehouse {self.user}@{self.host}:{self.port}/{self.database}"


def _flag(name: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise WarehouseError(f"warehouse URL parameter {name} must be true or false, got {value!r}")


def parse_url(url: str) -> RedshiftTarget:
    """Parse `redshift://user:password@host:port/db?ssl=false`; WarehouseError when malformed."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise WarehouseError(f"not a Redshift/PostgreSQL URL: scheme {parts.scheme!r}")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise WarehouseError(f"warehouse URL has a bad port: {exc}") from None
    database = unquote(parts.path.lstrip("/"))
    if not parts.hostname or not database:
        raise WarehouseError("warehouse URL needs a host and a database: redshift://user:pass@host:port/db")
    if not parts.username or parts.password is None:
        raise WarehouseError("warehouse URL needs a user and a password: redshift://user:pass@host:port/db")
    query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = set(query) - {"ssl", "sslmode", "connect_timeout", "timeout"}
    if unknown:
        raise WarehouseError(f"unknown warehouse URL parameter(s): {', '.join(sorted(unknown))}")
    try:
        connect_timeout = float(query.get("connect_timeout", 10))
        timeout = float(query["timeout"]) if query.get("timeout") else None
    except ValueError as exc:
        raise WarehouseError(f"warehouse URL timeout is not a number: {exc}") from None
    return RedshiftTarget(
        host=parts.hostname,
        port=port,
        database=database,
        user=unquote(parts.username),
        password=unquote(parts.password),
        ssl=_flag("ssl", query["ssl"]) if "ssl" in query else parts.scheme == "redshift",
        sslmode=query.get("sslmode") or None,
        connect_timeout=connect_timeout,
        timeout=timeout,
    )


def _sqlstate(exc: Exception) -> str:
    """The SQLSTATE code redshift_connector keeps in the first argument (a dict), or ''."""
    first = exc.args[0] if exc.args else None
    return str(first.get("C", "")) if isinstance(first, dict) else ""


def _power_of_two_parts(count: int) -> Iterator[int]:
    """Split a remainder into powers of two (so few distinct statements get cached)."""
    bit = 1 << max(count.bit_length() - 1, 0)
    while count:
        if count >= bit:
            yield bit
            count -= bit
        bit >>= 1


class RedshiftWarehouse(PooledWarehouse):
    """Redshift (or PostgreSQL) through `redshift_connector`; `?` placeholders are sent as `$n`."""

    dialect = "redshift"
    native_percentiles = True

    def __init__(self, target: RedshiftTarget) -> None:
        super().__init__()
        self.target = target
        self._server_version: str | None = None

    @classmethod
    def from_url(cls, url: str) -> RedshiftWarehouse:
        """Open a URL (nothing connects until the first statement)."""
        return cls(parse_url(url))

    def describe(self) -> str:
        return self.target.describe()

    # -- connections ---------------------------------------------------------------------------
    def _connect(self) -> Any:
        import redshift_connector

        t = self.target
        options: dict[str, Any] = {"sslmode": t.sslmode} if t.sslmode else {}
        try:
            connection = redshift_connector.connect(
                host=t.host,
                port=t.port,
                database=t.database,
                user=t.user,
                password=t.password,
                ssl=t.ssl,
                timeout=int(max(1, t.connect_timeout)),
                numeric_to_float=True,
                tcp_keepalive=True,
                **options,
            )
        except Exception as exc:  # refused, timed out, auth, DNS: all "unreachable"
            raise WarehouseError(f"cannot reach {self.describe()}: {exc}") from None
        sock = getattr(connection, "_usock", None)
        if sock is not None:  # the connect timeout must not cap long statements
            sock.settimeout(t.timeout)
        connection.autocommit = True
        if self._server_version is None:
            try:
                cursor = connection.cursor()
                cursor.execute("SELECT version()")
                row = cursor.fetchone()
                if row is None:
                    raise WarehouseError("SELECT version() returned no row")
                self._server_version = str(row[0])
            except Exception as exc:  # any driver error means the probe failed
                self._close_quietly(connection)
                raise WarehouseError(f"cannot query {self.describe()}: {exc}") from None
        return connection

    def _cursor(self, connection: Any) -> Any:
        cursor = connection.cursor()
        cursor.paramstyle = "qmark"  # the driver turns `?` into `$1, $2, ...` (quotes respected)
        return cursor

    def _adapt_params(self, params: Sequence[Any]) -> Sequence[Any] | None:
        # bool -> int: PostgreSQL has no implicit boolean -> integer cast; flags are INTEGER 0/1.
        if not params:
            return None
        return [int(v) if isinstance(v, bool) else v for v in params]

    def _is_disconnect(self, exc: Exception) -> bool:
        import redshift_connector

        if isinstance(exc, (OSError, EOFError, redshift_connector.InterfaceError)):
            return True
        code = _sqlstate(exc)
        return code.startswith("08") or code in ("57P01", "57P02", "57P03")

    def _is_data_error(self, exc: Exception) -> bool:
        # SQLSTATE class 22 (data exception: bad encoding such as 0x00, value too long or out of
        # range) and 23 (integrity constraint violation).
        return super()._is_data_error(exc) or _sqlstate(exc)[:2] in ("22", "23")

    # -- server facts --------------------------------------------------------------------------
    def server_version(self) -> str:
        """The server's `version()` string (connects if needed)."""
        if self._server_version is None:
            self.scalar("SELECT 1")
        return self._server_version or ""

    def is_redshift(self) -> bool:
        """True on real Redshift, False on the PostgreSQL stand-in."""
        return "redshift" in self.server_version().lower()

    # -- writes --------------------------------------------------------------------------------
    def _insert_batches(
        self, connection: Any, head: str, row_sql: str, rows: Iterable[Sequence[Any]], batch_size: int
    ) -> int:
        width = row_sql.count("?")
        per_statement = max(1, min(batch_size, MAX_PARAMS // width))
        cursor = self._cursor(connection)
        total = 0
        for batch in chunks(rows, per_statement):
            sizes = [len(batch)] if len(batch) == per_statement else list(_power_of_two_parts(len(batch)))
            start = 0
            for size in sizes:
                values: list[Any] = []
                for offset, row in enumerate(batch[start : start + size]):
                    if len(row) != width:
                        raise WarehouseError(
                            f"executemany row {total + offset} has {len(row)} values, the INSERT takes {width}"
                        )
                    values.extend(int(v) if isinstance(v, bool) else v for v in row)
                cursor.execute(f"{head} {', '.join([row_sql] * size)}", values)
                total += size
                start += size
        return total

    @property
    def supports_indexes(self) -> bool:  # type: ignore[override]
        """Redshift has no CREATE INDEX (it sorts and distributes instead); PostgreSQL has."""
        return not self.is_redshift()
