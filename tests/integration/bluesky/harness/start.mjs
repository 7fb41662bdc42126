// socialkit PDS harness launcher.
//
// Runs a real did:plc directory (@did-plc/server, in-memory database) and a real
// atproto PDS (@atproto/pds) in ONE Node 22 process, both listening on 127.0.0.1 only.
//
// Usage: <cache>/bin/node start.mjs   (normally spawned by pds.py)
// Env:   SOCIALKIT_PDS_CACHE  install dir made by install.sh (holds node_modules)
//        PLC_PORT             port of the PLC directory
//        PDS_*                PDS configuration, read by @atproto/pds readEnv()
// Prints one line "SOCIALKIT_PDS_READY {json}" on stdout once both servers listen.
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const LOOPBACK = '127.0.0.1'
const cacheDir =
  process.env.SOCIALKIT_PDS_CACHE ||
  path.join(os.homedir(), '.cache', 'socialkit', 'pds-0.5.35')
// Resolve packages from the cache install, not from this (checkout) directory.
const requireFromCache = createRequire(path.join(cacheDir, 'package.json'))
const importFromCache = (name) =>
  import(pathToFileURL(requireFromCache.resolve(name)).href)

// express apps call http.Server.listen(port) = all interfaces; pin them to loopback.
const listenOnLoopback = (app) => {
  const listen = app.listen.bind(app)
  app.listen = (port, ...rest) => listen(port, LOOPBACK, ...rest)
}

const started = Date.now()
const plcLib = requireFromCache('@did-plc/server')
const { PDS, envToCfg, envToSecrets, readEnv } = await importFromCache('@atproto/pds')

const plcPort = Number.parseInt(process.env.PLC_PORT ?? '', 10)
if (!Number.isInteger(plcPort)) throw new Error('PLC_PORT must be set')
const plc = plcLib.PlcServer.create({ db: plcLib.Database.mock(), port: plcPort })
listenOnLoopback(plc.app)
await plc.start()

const env = readEnv()
const pds = await PDS.create(envToCfg(env), envToSecrets(env))
listenOnLoopback(pds.app)
await pds.start()

console.log(
  'SOCIALKIT_PDS_READY ' +
    JSON.stringify({
      plc: `http://${LOOPBACK}:${plcPort}`,
      pds: `http://${LOOPBACK}:${pds.ctx.cfg.service.port}`,
      publicUrl: pds.ctx.cfg.service.publicUrl,
      node: process.version,
      readyMs: Date.now() - started,
    }),
)

let stopping = false
const shutdown = async (signal) => {
  if (stopping) return
  stopping = true
  console.log(`socialkit-pds: ${signal}, shutting down`)
  const hardStop = setTimeout(() => process.exit(1), 4000)
  hardStop.unref()
  try {
    await pds.destroy()
    await plc.destroy()
  } finally {
    process.exit(0)
  }
}
process.on('SIGTERM', () => shutdown('SIGTERM'))
process.on('SIGINT', () => shutdown('SIGINT'))
