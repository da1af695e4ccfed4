// A PIX / PDQ v2 server over MLLP for the integration tests, on @medplum/hl7 (npm): its
// Hl7Connection frames and parses the messages, @medplum/core's Hl7Message reads them and
// builds the ACKs. A fresh, empty in-memory patient store on every start; 127.0.0.1 only.
//
// Usage: node medplum_hl7_server.mjs [--ack AA|AE] [--drop-last] [--reverse] [--duplicates]
//   (MEDPLUM_NODE_MODULES: the node_modules holding @medplum/hl7)
//   --ack AE      every feed is answered ACK AE, every query QAK-2 AE (a broken upgrade)
//   --drop-last   a PDQ query leaves out the last patient that matches (a lost patient)
//   --reverse     a PDQ query returns the patients in reverse order (order is not defined)
//   --duplicates  every ADT^A01 / A04 / A05 registers a new patient record, also for ids it
//                 knows (an MPI keeping duplicate registrations for later linking): a PDQ
//                 query finds every registration; A08 updates the latest one in place
// Prints "listening <port>" on stdout once it accepts connections; SIGTERM stops it.
//
// ADT^A01 / A04 / A08 store the patient (by every PID-3 id), ADT^A40 merges MRG-1 into the
// PID, QBP^Q23 (ITI-9) answers RSP^K23 with the patient's ids, QBP^Q22 (ITI-21) answers RSP^K22
// with one PID + QRI group per patient whose fields match every QPD-3 parameter (@PID.5.1 ...).
import net from 'node:net';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const modules = process.env.MEDPLUM_NODE_MODULES;
if (!modules) {
  console.error('MEDPLUM_NODE_MODULES must name the node_modules holding @medplum/hl7');
  process.exit(2);
}
const require = createRequire(pathToFileURL(path.join(modules, 'x.js')));
const { Hl7Connection } = require('@medplum/hl7');
const { Hl7Message } = require('@medplum/core');

const args = process.argv.slice(2);
const ackCode = args.includes('--ack') ? args[args.indexOf('--ack') + 1] : 'AA';
const dropLast = args.includes('--drop-last');
const reverse = args.includes('--reverse');
const duplicates = args.includes('--duplicates');
/** --duplicates: every registration, in order */
const registrations = [];

/** patient key (id + authority) -> { pid: string[] (fields), merged: bool } */
const patients = new Map();
let counter = 0;

function cxKey(cx) {
  const [id, , , authority = ''] = cx.split('^');
  const [namespace = '', oid = ''] = authority.split('&');
  return `${id}|${oid || namespace}`;
}

function fieldsOf(segment) {
  return segment.toString().split('|');
}

function now() {
  return new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function header(request, type) {
  const msh = fieldsOf(request.getSegment('MSH'));
  // MSH split by '|': [0]=MSH, [1]=MSH-2, [n-1]=MSH-n
  counter += 1;
  return ['MSH', '^~\\&', msh[4] ?? '', msh[5] ?? '', msh[2] ?? '', msh[3] ?? '', now(), '',
    type, `MEDPLUM${Date.now()}${counter}`, msh[10] ?? 'P', msh[11] ?? '2.5'].join('|');
}

function feed(message, trigger) {
  const pid = fieldsOf(message.getSegment('PID'));
  const ids = (pid[3] ?? '').split('~').filter((cx) => cx);
  if (trigger === 'A40') {
    const mrg = fieldsOf(message.getSegment('MRG'));
    for (const cx of (mrg[1] ?? '').split('~')) patients.delete(cxKey(cx));
  }
  const known = ids.map((cx) => patients.get(cxKey(cx))).find((r) => r);
  if (duplicates && known && !['A01', 'A04', 'A05'].includes(trigger)) {
    known.pid = pid;  // an update of the latest registration
    return;
  }
  const record = { pid };
  if (duplicates) registrations.push(record);
  for (const cx of ids) patients.set(cxKey(cx), record);
}

function unique(records) {
  return [...new Set(records)];
}

function matches(record, parameter) {
  const [field, value] = parameter.split('^');
  const [, number, component, sub] = field.replace('@PID.', 'PID.').split('.');
  let values = (record.pid[Number(number)] ?? '').split('~');
  values = values.map((v) => (component ? v.split('^')[Number(component) - 1] ?? '' : v));
  values = values.map((v) => (sub ? v.split('&')[Number(sub) - 1] ?? '' : v));
  return values.some((v) => v.toLowerCase() === (value ?? '').toLowerCase());
}

function pidSegment(record, setId, ids) {
  const pid = [...record.pid];
  pid[1] = String(setId);
  if (ids) pid[3] = ids.join('~');
  return pid.join('|');
}

function query(message, trigger) {
  const qpd = message.getSegment('QPD').toString();
  const q = qpd.split('|');
  const tag = q[2] ?? '';
  const control = fieldsOf(message.getSegment('MSH'))[9] ?? '';
  let groups = [];
  if (trigger === 'Q23') {
    const record = patients.get(cxKey(q[3] ?? ''));
    if (record) {
      const domains = (q[4] ?? '').split('~').filter((d) => d).map((d) => cxKey(d).split('|')[1]);
      let ids = (record.pid[3] ?? '').split('~').filter((cx) => cxKey(cx) !== cxKey(q[3]));
      if (domains.length) ids = ids.filter((cx) => domains.includes(cxKey(cx).split('|')[1]));
      if (ids.length) groups.push(pidSegment({ pid: ['PID'] }, 1, ids));
    }
  } else {
    const parameters = (q[3] ?? '').split('~').filter((p) => p);
    const found = unique(duplicates ? registrations : [...patients.values()]).filter((r) => parameters.every((p) => matches(r, p)));
    found.sort((a, b) => (a.pid[3] ?? '').localeCompare(b.pid[3] ?? ''));
    if (reverse) found.reverse();
    if (dropLast && found.length) found.pop();
    groups = found.flatMap((r, i) => [pidSegment(r, i + 1), 'QRI|100']);
  }
  const type = trigger === 'Q23' ? 'RSP^K23^RSP_K23' : 'RSP^K22^RSP_K21';
  const status = ackCode !== 'AA' ? 'AE' : groups.length ? 'OK' : 'NF';
  const segments = [header(message, type), `MSA|${ackCode}|${control}`, `QAK|${tag}|${status}`, qpd];
  if (ackCode === 'AA') segments.push(...groups);
  return Hl7Message.parse(segments.join('\r'));
}

function handle(connection, message) {
  const msh = fieldsOf(message.getSegment('MSH'));
  const [type, trigger] = (msh[8] ?? '').split('^');
  if (type === 'ADT') {
    if (ackCode === 'AA') feed(message, trigger);
    return message.buildAck({ ackCode });
  }
  if (type === 'QBP' && (trigger === 'Q22' || trigger === 'Q23')) return query(message, trigger);
  return message.buildAck({ ackCode: 'AR' });
}

const server = net.createServer((socket) => {
  const connection = new Hl7Connection(socket, 'utf-8');
  connection.addEventListener('message', (event) => {
    try {
      connection.send(handle(connection, event.message));
    } catch (error) {
      console.error('cannot answer:', error);
      connection.send(event.message.buildAck({ ackCode: 'AE' }));
    }
  });
  connection.addEventListener('error', (event) => console.error('connection error:', event.error?.message));
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
