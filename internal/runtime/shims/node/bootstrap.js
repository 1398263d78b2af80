// penstock Node.js runtime shim: the Lambda Runtime API loop (2018-06-01).
// Started as `node bootstrap.js` with the function's environment; loads
// _HANDLER ("file.export", "dir/file.nested.export") from LAMBDA_TASK_ROOT
// and serves invocations one at a time, like AWS's Node.js runtime client.
'use strict';

const net = require('net');
const fs = require('fs');
const path = require('path');
const util = require('util');
const { pathToFileURL } = require('url');

const [apiHost, apiPort] = (() => {
  const a = process.env.AWS_LAMBDA_RUNTIME_API || '';
  const i = a.lastIndexOf(':');
  return [a.slice(0, i), Number(a.slice(i + 1))];
})();
const BASE = '/2018-06-01/runtime';

let currentRequestId; // for log lines and uncaught errors

// --- logging: console.* as AWS formats it -------------------------------
function patchConsole() {
  const write = (level) => (...args) => {
    process.stdout.write(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${util.format(...args)}\n`);
  };
  console.log = write('INFO');
  console.info = write('INFO');
  console.warn = write('WARN');
  console.error = write('ERROR');
  console.debug = write('DEBUG');
  console.trace = write('TRACE');
  console.fatal = write('FATAL');
}

// --- Runtime API client -------------------------------------------------
// A minimal keep-alive HTTP/1.1 client on one socket: Node's http.Agent
// machinery costs several hundred microseconds per request. The socket is
// unref'd between requests so that an empty event loop can be detected
// while a handler runs (callbackWaitsForEmptyEventLoop).
class Client {
  constructor(host, port) {
    this.host = host;
    this.port = port;
    this.sock = null;
    this.chunks = [];
    this.size = 0;
    this.pending = null;
  }

  ensure() {
    if (this.sock) return;
    const s = net.createConnection({ host: this.host, port: this.port });
    s.setNoDelay(true);
    s.on('data', (d) => { this.chunks.push(d); this.size += d.length; this.parse(); });
    s.on('error', (e) => this.fail(e));
    s.on('close', () => this.fail(new Error('runtime API connection closed')));
    this.sock = s;
    this.chunks = [];
    this.size = 0;
  }

  fail(err) {
    this.sock = null;
    const p = this.pending;
    this.pending = null;
    if (p) p.reject(err);
  }

  buffered() {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.size)];
    return this.chunks[0] || Buffer.alloc(0);
  }

  consume(n) {
    const b = this.buffered();
    const out = b.subarray(0, n);
    const rest = b.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.size = rest.length;
    return out;
  }

  parse() {
    const p = this.pending;
    if (!p) return;
    if (p.status === undefined) {
      const b = this.buffered();
      const i = b.indexOf('\r\n\r\n');
      if (i < 0) return;
      const head = b.toString('latin1', 0, i).split('\r\n');
      this.consume(i + 4);
      p.status = Number(head[0].split(' ')[1]);
      p.headers = {};
      for (let k = 1; k < head.length; k++) {
        const c = head[k].indexOf(':');
        p.headers[head[k].slice(0, c).trim().toLowerCase()] = head[k].slice(c + 1).trim();
      }
      const cl = p.headers['content-length'];
      p.chunked = cl === undefined && /chunked/i.test(p.headers['transfer-encoding'] || '');
      p.length = cl !== undefined ? Number(cl) : 0;
      p.parts = [];
    }
    if (!p.chunked) {
      if (this.size < p.length) return;
      return this.done(p, Buffer.from(this.consume(p.length)));
    }
    for (;;) {
      const b = this.buffered();
      const i = b.indexOf('\r\n');
      if (i < 0) return;
      const n = parseInt(b.toString('latin1', 0, i), 16);
      if (n === 0) {
        const end = b.indexOf('\r\n\r\n', i);
        if (end < 0) return;
        this.consume(end + 4);
        return this.done(p, Buffer.concat(p.parts));
      }
      if (b.length < i + 2 + n + 2) return;
      p.parts.push(Buffer.from(b.subarray(i + 2, i + 2 + n)));
      this.consume(i + 2 + n + 2);
    }
  }

  done(p, body) {
    this.pending = null;
    if (this.sock) this.sock.unref();
    p.resolve({ status: p.status, headers: p.headers, body });
  }

  request(method, urlPath, body, headers) {
    return new Promise((resolve, reject) => {
      this.ensure();
      this.pending = { resolve, reject };
      this.sock.ref();
      let head = `${method} ${BASE}${urlPath} HTTP/1.1\r\nHost: ${this.host}\r\n`;
      for (const k of Object.keys(headers || {})) head += `${k}: ${headers[k]}\r\n`;
      if (body !== undefined) {
        head += `Content-Length: ${body.length}\r\n\r\n`;
        this.sock.write(Buffer.concat([Buffer.from(head, 'latin1'), body]));
      } else {
        this.sock.write(head + '\r\n', 'latin1');
      }
    });
  }
}

const client = new Client(apiHost, apiPort);

function request(method, urlPath, body, headers) {
  return client.request(method, urlPath, body, headers);
}

function post(urlPath, body, headers) {
  const buf = Buffer.from(body);
  return request('POST', urlPath, buf, Object.assign({ 'Content-Type': 'application/json' }, headers));
}

// --- errors, as AWS's Node.js runtime shapes them ------------------------
class RuntimeError extends Error {
  constructor(name, message) { super(message); this.name = name; }
}

function toRapidResponse(error) {
  try {
    if (error instanceof Error || (error && typeof error === 'object' && 'message' in error && 'name' in error)) {
      return {
        errorType: String(error.name),
        errorMessage: String(error.message),
        trace: String(error.stack || '').split('\n'),
      };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch (_e) {
    return {
      errorType: 'handled',
      errorMessage: 'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

function errorHeaders(r) {
  return { 'Lambda-Runtime-Function-Error-Type': r.errorType };
}

async function postInitError(err) {
  const r = toRapidResponse(err);
  console.error('Init Error', JSON.stringify(r));
  try { await post('/init/error', JSON.stringify(r), errorHeaders(r)); } catch (_e) { /* exiting anyway */ }
}

async function postInvokeError(id, err) {
  const r = toRapidResponse(err);
  console.error('Invoke Error', JSON.stringify(r));
  await post(`/invocation/${id}/error`, JSON.stringify(r), errorHeaders(r));
}

// --- loading the handler ------------------------------------------------
async function loadModule(root, moduleName) {
  const base = path.resolve(root, moduleName);
  const exists = (p) => { try { return fs.statSync(p).isFile(); } catch (_e) { return false; } };
  if (exists(base + '.mjs')) return import(pathToFileURL(base + '.mjs').href);
  for (const ext of ['.js', '.cjs']) {
    if (exists(base + ext)) {
      try {
        return require(base + ext);
      } catch (e) {
        if (e && (e.code === 'ERR_REQUIRE_ESM' || e.code === 'ERR_REQUIRE_ASYNC_MODULE')) return import(pathToFileURL(base + ext).href);
        throw e;
      }
    }
  }
  return require(require.resolve(moduleName, { paths: [root] }));
}

async function loadHandler(root, handlerString) {
  const base = path.basename(handlerString);
  const dir = path.dirname(handlerString);
  const m = base.match(/^([^.]*)\.(.*)$/);
  if (!m) throw new RuntimeError('Runtime.MalformedHandlerName', 'Bad handler');
  const moduleName = dir === '.' ? m[1] : path.join(dir, m[1]);
  let mod;
  try {
    mod = await loadModule(root, moduleName);
  } catch (e) {
    // The module, or one it requires, is missing (AWS: Runtime.ImportModuleError).
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new RuntimeError('Runtime.ImportModuleError', `Error: ${e.message}`);
    }
    if (e instanceof SyntaxError) throw new RuntimeError('Runtime.UserCodeSyntaxError', `${e.name}: ${e.message}`);
    throw e;
  }
  let fn = mod;
  for (const part of m[2].split('.')) {
    fn = fn == null ? undefined : fn[part];
    if (fn === undefined && mod && mod.default && part === m[2].split('.')[0]) fn = mod.default[part];
  }
  if (fn === undefined || fn === null) throw new RuntimeError('Runtime.HandlerNotFound', `${handlerString} is undefined or not exported`);
  if (typeof fn !== 'function') throw new RuntimeError('Runtime.HandlerNotFound', `${handlerString} is not a function`);
  return fn;
}

// --- one invocation -----------------------------------------------------
let waitingForEmptyLoop = null; // resolves a callback result once the loop drains

process.on('beforeExit', () => {
  if (waitingForEmptyLoop) {
    const f = waitingForEmptyLoop;
    waitingForEmptyLoop = null;
    f();
  }
});

function callHandler(handler, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err, result) => {
      if (settled) return;
      settled = true;
      const deliver = () => (err !== undefined && err !== null ? reject(err) : resolve(result));
      if (viaCallback && context.callbackWaitsForEmptyEventLoop) waitingForEmptyLoop = deliver;
      else deliver();
    };
    let viaCallback = false;
    const callback = (err, result) => { viaCallback = true; finish(err, result); };
    context.done = callback;
    context.succeed = (result) => callback(null, result);
    context.fail = (err) => callback(err === undefined || err === null ? 'handled' : err);
    let r;
    try {
      r = handler(event, context, callback);
    } catch (e) {
      finish(e);
      return;
    }
    if (r && typeof r.then === 'function') {
      r.then((v) => finish(null, v), (e) => finish(e === undefined || e === null ? new Error(String(e)) : e));
    } else if (r !== undefined) {
      finish(null, r);
    } else if (!settled) {
      // No promise, no value: wait for the callback, or answer null when
      // the event loop is empty (as AWS's runtime does).
      waitingForEmptyLoop = () => finish(null, null);
    }
  });
}

function makeContext(headers, handlerString) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  let clientContext;
  if (headers['lambda-runtime-client-context']) {
    try { clientContext = JSON.parse(headers['lambda-runtime-client-context']); } catch (_e) { /* ignore */ }
  }
  let identity;
  if (headers['lambda-runtime-cognito-identity']) {
    try { identity = JSON.parse(headers['lambda-runtime-cognito-identity']); } catch (_e) { /* ignore */ }
  }
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity,
    clientContext,
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
  };
}

async function main() {
  patchConsole();
  const root = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const handlerString = process.env._HANDLER || '';
  let handler;
  process.on('uncaughtException', async (err) => {
    console.error('Uncaught Exception', JSON.stringify(toRapidResponse(err)));
    if (currentRequestId) {
      try { await postInvokeError(currentRequestId, err); } catch (_e) { /* exiting */ }
    } else {
      await postInitError(err);
    }
    process.exit(129);
  });
  process.on('unhandledRejection', async (reason) => {
    const err = new RuntimeError('Runtime.UnhandledPromiseRejection', String(reason && reason.stack ? reason.stack.split('\n')[0] : reason));
    if (currentRequestId) {
      try { await postInvokeError(currentRequestId, err); } catch (_e) { /* exiting */ }
    } else {
      await postInitError(err);
    }
    process.exit(128);
  });
  try {
    handler = await loadHandler(root, handlerString);
  } catch (e) {
    await postInitError(e);
    process.exit(129);
  }
  for (;;) {
    const next = await request('GET', '/invocation/next');
    if (next.status !== 200) {
      process.stderr.write(`runtime API /next returned ${next.status}\n`);
      process.exit(1);
    }
    const id = next.headers['lambda-runtime-aws-request-id'];
    currentRequestId = id;
    if (next.headers['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = next.headers['lambda-runtime-trace-id'];
    else delete process.env._X_AMZN_TRACE_ID;
    const context = makeContext(next.headers, handlerString);
    let event;
    try {
      event = JSON.parse(next.body.toString('utf8'));
    } catch (e) {
      await postInvokeError(id, new RuntimeError('Runtime.UnmarshalError', `Unable to parse event: ${e.message}`));
      continue;
    }
    let result;
    try {
      result = await callHandler(handler, event, context);
    } catch (e) {
      await postInvokeError(id, e);
      continue;
    }
    let body;
    try {
      body = JSON.stringify(result === undefined ? null : result);
    } catch (e) {
      await postInvokeError(id, new RuntimeError('Runtime.MarshalError', `Unable to stringify response body: ${e.message}`));
      continue;
    }
    const res = await post(`/invocation/${id}/response`, body === undefined ? 'null' : body);
    if (res.status === 413) {
      console.error('Invoke Error', res.body.toString());
    }
  }
}

main();
