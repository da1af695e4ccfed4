// node-hl7-server (npm) as an MLLP peer on 127.0.0.1 for the fault tests: every message is
// answered "AA" through the library's own sendResponse. Prints "listening PORT" once bound.
// NODE_HL7_SERVER_MODULES names the node_modules folder the test setup installed it into.
import { createRequire } from 'node:module'
import path from 'node:path'

const modules = process.env.NODE_HL7_SERVER_MODULES
if (!modules) {
  console.error('NODE_HL7_SERVER_MODULES is not set')
  process.exit(2)
}
const require = createRequire(path.join(modules, 'launcher.cjs'))
const { Server } = require('node-hl7-server')

const server = new Server({ bindAddress: '127.0.0.1' })
const inbound = server.createInbound({ port: 0 }, async (req, res) => {
  await res.sendResponse('AA')
})
inbound.on('listen', () => {
  console.log(`listening ${inbound._socket.address().port}`)
})
inbound.on('data.error', (err) => console.error(`data.error: ${err}`))
const stop = () => { void inbound.close().then(() => process.exit(0)) }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
