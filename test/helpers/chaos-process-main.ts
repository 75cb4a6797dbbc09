// The child side of chaos-process.ts: starts one chaos receiver per misbehaviour given in argv,
// reports their URLs, then answers requests for their counters until told to close (or until
// the parent goes away, so a crashed test leaves no orphan behind).

import type { ChaosCounters, ChaosProcessMessage } from './chaos-process.ts';
import { type ChaosReceiver, type Misbehaviour, startChaosReceiver } from './chaos-receivers.ts';

const behaviours = JSON.parse(process.argv[2] ?? '[]') as Misbehaviour[];
const receivers: ChaosReceiver[] = [];
for (const how of behaviours) receivers.push(await startChaosReceiver(how));

function counters(r: ChaosReceiver): ChaosCounters {
  return {
    requests: r.requests(),
    accepted: r.accepted(),
    open: r.open(),
    maxRequestsPerConnection: r.maxRequestsPerConnection(),
  };
}

let closing: Promise<void> | undefined;
function shutdown(): Promise<void> {
  closing ??= Promise.all(receivers.map((r) => r.close())).then(() => {
    if (process.connected) process.disconnect();
  });
  return closing;
}

process.on('message', (message: ChaosProcessMessage) => {
  if (message.op === 'counters') {
    process.send?.({ id: message.id, counters: receivers.map(counters) });
  } else if (message.op === 'close') {
    void shutdown();
  }
});
process.on('disconnect', () => void shutdown());
process.send?.({ urls: receivers.map((r) => r.url) });
