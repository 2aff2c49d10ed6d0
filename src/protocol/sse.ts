/** What an SSE frame of `type` starts with: its data line follows. */
export const sseFrameHead = (type: string): string => `event: ${type}\ndata: `;

/** What ends every SSE frame. */
export const SSE_FRAME_END = '\n\n';

/** One SSE frame: the bytes that go to every follower of a log, built once per event. */
export function sseFrame(type: string, json: string): string {
  return sseFrameHead(type) + json + SSE_FRAME_END;
}

export const SSE_KEEPALIVE = ': keep-alive\n\n';
