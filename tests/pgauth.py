"""A PostgreSQL server that checks passwords and rejects every one, speaking the real wire protocol.

The local test server trusts every local connection (pg_hba.conf), so no password can be wrong there.
This stand-in answers an SSLRequest with 'N', asks for an MD5 password (AuthenticationMD5Password),
reads the PasswordMessage and answers FATAL 28P01, exactly as a server with `md5`/`scram` auth would
for a wrong password. Clients (asyncpg, psycopg) then raise their ordinary "invalid password" errors.
"""

from __future__ import annotations

import asyncio
import struct

SSL_REQUEST = 80877103
GSS_REQUEST = 80877104


def _error(user: str) -> bytes:
    fields = b"".join(
        code + text.encode() + b"\0"
        for code, text in (
            (b"S", "FATAL"),
            (b"V", "FATAL"),
            (b"C", "28P01"),
            (b"M", f'password authentication failed for user "{user}"'),
        )
    ) + b"\0"
    return b"E" + struct.pack("!I", len(fields) + 4) + fields


class RejectingPostgres:
    def __init__(self) -> None:
        self.port = 0
        self.attempts = 0
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                (length,) = struct.unpack("!I", await reader.readexactly(4))
                body = await reader.readexactly(length - 4)
                (code,) = struct.unpack("!I", body[:4])
                if code in (SSL_REQUEST, GSS_REQUEST):
                    writer.write(b"N")  # no encryption here; the client goes on in plain text
                    await writer.drain()
                    continue
                params = body[4:].split(b"\0")
                user = params[params.index(b"user") + 1].decode() if b"user" in params else ""
                break
            writer.write(b"R" + struct.pack("!II", 12, 5) + b"salt")  # AuthenticationMD5Password
            await writer.drain()
            tag = await reader.readexactly(1)
            (length,) = struct.unpack("!I", await reader.readexactly(4))
            await reader.readexactly(length - 4)
            if tag == b"p":
                self.attempts += 1
            writer.write(_error(user))
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()
