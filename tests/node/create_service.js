// Creates a Cloud Run service through @google-cloud/run (google-gax) against lro-emulator and prints the result.
//
// Usage: node create_service.js TRANSPORT READY_FILE PARENT SERVICE_ID
//   TRANSPORT is "grpc" (insecure credentials) or "rest" (gax's HTTP/JSON fallback); READY_FILE is what
//   `lro-emulator serve --ready-file` wrote. Prints one JSON line: the operation's name, the service the finished
//   operation returned, and how many times the client polled.
'use strict';

const fs = require('fs');
const grpc = require('@grpc/grpc-js');
const {PassThroughClient} = require('google-auth-library');
const {ServicesClient} = require('@google-cloud/run').v2;

async function main() {
  const [transport, readyFile, parent, serviceId] = process.argv.slice(2);
  const ready = JSON.parse(fs.readFileSync(readyFile, 'utf8'));
  const options = transport === 'grpc'
    ? endpoint(ready.grpc, {sslCreds: grpc.credentials.createInsecure()})
    : endpoint(new URL(ready.rest).host, {
        fallback: true,
        protocol: 'http',
        // No credentials: the emulator does not ask for any.
        authClient: new PassThroughClient(),
      });
  const client = new ServicesClient(options);
  // Poll every 20 ms (the default starts at 5 s): the emulator's clock, not the client's patience, sets the pace.
  const fast = {longrunning: {initialRetryDelayMillis: 20, retryDelayMultiplier: 1, maxRetryDelayMillis: 20,
                              totalTimeoutMillis: 30000}};
  const [operation] = await client.createService(
    {parent, serviceId, service: {template: {containers: [{image: 'us-docker.pkg.dev/cloudrun/container/hello'}]}}},
    fast,
  );
  const [service] = await operation.promise();
  console.log(JSON.stringify({operation: operation.name, service: {name: service.name, uri: service.uri}}));
  await client.close();
}

function endpoint(hostPort, extra) {
  const at = hostPort.lastIndexOf(':');
  return {servicePath: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)), ...extra};
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
