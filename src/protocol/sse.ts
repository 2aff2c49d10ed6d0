/** One SSE frame: the bytes that go to every follower of a log, built once per event. */
export function sseFrame(type: string, json: string): string {
  return `event: ${type}\ndata: ${json}\n\n`;
}

export const SSE_KEEPALIVE = ': keep-alive\n\n';
