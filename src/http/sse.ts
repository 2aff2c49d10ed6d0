// Follows a response's event log onto one HTTP response as Server-Sent Events. Frames of one
// event-loop turn are joined into one write; silence is broken by keep-alive comments.
import type { ServerResponse } from 'node:http';
import { SSE_KEEPALIVE } from '../protocol/sse.js';
import type { EventLog } from '../streams/types.js';

export interface FollowOptions {
  keepAliveMs: number;
  /** The client went away before the log ended. */
  onClientGone?: () => void;
}

const SSE_HEAD = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

export function followLog(res: ServerResponse, log: EventLog, responseId: string, after: number, options: FollowOptions): void {
  let pending = '';
  let wrote = false;
  let ended = false;

  // Frames leave once the event loop has run the callbacks of this turn (setImmediate, not
  // nextTick): a burst of upstream reads and the continuations they settle share one HTTP chunk,
  // one syscall.
  const flush = () => {
    if (pending === '') return;
    const chunk = pending;
    pending = '';
    res.write(chunk);
  };
  const write = (frame: string) => {
    wrote = true;
    if (pending === '') setImmediate(flush);
    pending += frame;
  };

  const keepAlive = setInterval(() => {
    if (!wrote) write(SSE_KEEPALIVE);
    wrote = false;
  }, Math.max(1, options.keepAliveMs / 2));

  const finish = () => {
    ended = true;
    clearInterval(keepAlive);
  };

  res.writeHead(200, SSE_HEAD);
  const unsubscribe = log.follow(responseId, after, {
    onEvent: (event) => write(event.frame),
    onEnd: () => {
      finish();
      flush();
      res.end();
    },
  });
  // The head leaves with the first frames; with none to send yet, it leaves now.
  if (pending === '' && !ended) res.flushHeaders();
  res.on('close', () => {
    if (ended) return;
    finish();
    unsubscribe();
    options.onClientGone?.();
  });
}
