// Follows a response's event log onto one HTTP response as Server-Sent Events. Frames written
// in the same tick are corked into one socket write; silence is broken by keep-alive comments.
import type { ServerResponse } from 'node:http';
import { SSE_KEEPALIVE } from '../protocol/sse.js';
import type { EventLog } from '../streams/types.js';

export interface FollowOptions {
  keepAliveMs: number;
  /** The client went away before the log ended. */
  onClientGone?: () => void;
}

export function writeSseHead(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
}

export function followLog(res: ServerResponse, log: EventLog, responseId: string, after: number, options: FollowOptions): void {
  let corked = false;
  let wrote = false;
  let ended = false;

  const uncork = () => {
    if (!corked) return;
    corked = false;
    res.uncork();
  };
  const write = (chunk: string) => {
    wrote = true;
    if (!corked) {
      corked = true;
      res.cork();
      process.nextTick(uncork);
    }
    res.write(chunk);
  };

  const keepAlive = setInterval(() => {
    if (!wrote) write(SSE_KEEPALIVE);
    wrote = false;
  }, Math.max(1, options.keepAliveMs / 2));

  const finish = () => {
    ended = true;
    clearInterval(keepAlive);
  };

  writeSseHead(res);
  const unsubscribe = log.follow(responseId, after, {
    onEvent: (event) => write(event.frame),
    onEnd: () => {
      finish();
      uncork();
      res.end();
    },
  });
  res.on('close', () => {
    if (ended) return;
    finish();
    unsubscribe();
    options.onClientGone?.();
  });
}
