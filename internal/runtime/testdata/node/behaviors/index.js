// Test function for internal/runtime: Node.js handlers in every style.
let count = 0;

function info(event, context) {
  return {
    pid: process.pid,
    count,
    requestId: context.awsRequestId,
    arn: context.invokedFunctionArn,
    functionName: context.functionName,
    version: context.functionVersion,
    memory: context.memoryLimitInMB,
    logGroup: context.logGroupName,
    logStream: context.logStreamName,
    remainingMs: context.getRemainingTimeInMillis(),
    clientContext: context.clientContext,
    env: process.env,
  };
}

exports.handler = async (event, context) => {
  count++;
  switch (event.action) {
    case 'error': {
      const e = new TypeError(event.message);
      throw e;
    }
    case 'exit':
      process.exit(event.code || 0);
    case 'sleep':
      await new Promise((r) => setTimeout(r, event.sleepMs));
      break;
    case 'big':
      return 'x'.repeat(event.size);
    case 'log':
      console.log(event.message);
      break;
    case 'ping':
      return 'pong';
    case 'len':
      return event.message.length;
  }
  return info(event, context);
};

// Callback style.
exports.callback = (event, context, callback) => {
  count++;
  if (event.action === 'error') {
    callback(new Error(event.message));
    return;
  }
  setTimeout(() => callback(null, { style: 'callback', count }), 5);
};

// Synchronous, returning a value.
exports.sync = (event, context) => {
  count++;
  return { style: 'sync', count };
};

exports.notAFunction = 42;
