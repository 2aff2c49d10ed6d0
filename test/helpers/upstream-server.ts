// The set-up most end-to-end tests over an upstream share: a fresh loopback Chat Completions
// upstream for each test and a real Parley routing `up-model` to it.
import { afterEach, beforeEach } from 'node:test';
import { startFakeChatUpstream, type FakeChatUpstream } from './fake-chat-upstream.js';
import { startTestServer, type TestServer } from './server.js';

export interface UpstreamServer {
  upstream: FakeChatUpstream;
  server: TestServer;
}

/** Call inside a `describe`: the returned object holds the current test's upstream and server. */
export function eachWithChatUpstream(): UpstreamServer {
  const current = {} as UpstreamServer;
  beforeEach(async () => {
    current.upstream = await startFakeChatUpstream();
    current.server = await startTestServer({ PARLEY_UPSTREAM_URL: current.upstream.url, PARLEY_UPSTREAM_MODELS: 'up-model' });
  });
  afterEach(async () => {
    await current.server.close();
    await current.upstream.close();
  });
  return current;
}
