// Drives a Kinesis endpoint with @aws-sdk/client-kinesis on its DEFAULT
// transport. For Kinesis that is NodeHttp2Handler: HTTP/2, and on an http://
// endpoint HTTP/2 with prior knowledge (h2c). A server that only speaks
// HTTP/1.1 fails here; penstock serves h2c on its one port.
//
//   node h2c-kinesis.mjs http://127.0.0.1:4566
//
// Exits 0 when every step matched, 1 otherwise. Credentials and region come
// from the usual AWS_* variables (any values work for penstock).
import {
  KinesisClient,
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  PutRecordCommand,
  GetShardIteratorCommand,
  GetRecordsCommand,
  ListStreamsCommand,
  DeleteStreamCommand,
} from "@aws-sdk/client-kinesis";

const endpoint = process.argv[2] ?? process.env.PENSTOCK_ENDPOINT ?? "http://127.0.0.1:4566";
const stream = `node-h2c-${process.pid}`;
const deadline = AbortSignal.timeout(Number(process.env.H2C_TIMEOUT_MS ?? 30000));

const client = new KinesisClient({
  endpoint,
  region: process.env.AWS_DEFAULT_REGION ?? "us-east-1",
  credentials: {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? "test",
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? "test",
  },
  maxAttempts: 1, // show the first failure as it is
});

function check(what, ok, detail) {
  if (!ok) throw new Error(`${what}: ${detail}`);
  console.log(`ok: ${what}${detail ? ` (${detail})` : ""}`);
}

const send = (cmd) => client.send(cmd, { abortSignal: deadline });

async function main() {
  const handler = client.config.requestHandler;
  check("default request handler is NodeHttp2Handler", handler?.constructor?.name === "NodeHttp2Handler",
    handler?.constructor?.name);
  check("endpoint is plain http (so HTTP/2 means h2c)", endpoint.startsWith("http://"), endpoint);

  await send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
  console.log(`ok: CreateStream ${stream}`);
  for (let i = 0; ; i++) {
    const d = await send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    if (d.StreamDescriptionSummary.StreamStatus === "ACTIVE") break;
    if (i > 300) throw new Error(`stream not ACTIVE: ${d.StreamDescriptionSummary.StreamStatus}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log("ok: stream ACTIVE");

  const data = new TextEncoder().encode("hello over h2c");
  const put = await send(new PutRecordCommand({ StreamName: stream, PartitionKey: "pk-1", Data: data }));
  check("PutRecord", /^\d+$/.test(put.SequenceNumber ?? "") && put.ShardId === "shardId-000000000000",
    `${put.ShardId} ${put.SequenceNumber}`);

  const it = await send(new GetShardIteratorCommand({
    StreamName: stream, ShardId: put.ShardId, ShardIteratorType: "TRIM_HORIZON",
  }));
  check("GetShardIterator", typeof it.ShardIterator === "string" && it.ShardIterator.length > 0);

  const got = await send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
  const recs = got.Records ?? [];
  const text = recs.length ? new TextDecoder().decode(recs[0].Data) : "";
  check("GetRecords returns the record", recs.length === 1 && text === "hello over h2c"
    && recs[0].PartitionKey === "pk-1" && recs[0].SequenceNumber === put.SequenceNumber,
    `${recs.length} record(s), data ${JSON.stringify(text)}`);
  check("GetRecords ApproximateArrivalTimestamp is a Date", recs[0].ApproximateArrivalTimestamp instanceof Date,
    String(recs[0].ApproximateArrivalTimestamp));

  const list = await send(new ListStreamsCommand({}));
  check("ListStreams lists the stream", (list.StreamNames ?? []).includes(stream), list.StreamNames?.join(","));

  await send(new DeleteStreamCommand({ StreamName: stream }));
  console.log("ok: DeleteStream");
}

try {
  await main();
  console.log("h2c-kinesis: all checks passed");
} catch (err) {
  console.error(`h2c-kinesis: FAILED against ${endpoint}: ${err.name ?? ""}: ${err.message}`);
  process.exitCode = 1;
} finally {
  client.destroy(); // close the HTTP/2 session so node exits
}
