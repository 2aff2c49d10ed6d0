// The real Codex CLI (`codex exec --json`, pinned in package.json) against Parley, with a
// loopback Chat Completions upstream that calls Codex's own `exec_command` tool.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { chunk, startFakeChatUpstream, type FakeChatUpstream } from '../helpers/fake-chat-upstream.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const require = createRequire(import.meta.url);
const CODEX = join(dirname(require.resolve('@openai/codex/package.json')), 'bin', 'codex.js');

function runCodex(args: string[], env: Record<string, string>, cwd: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [CODEX, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: env.CODEX_HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let upstream: FakeChatUpstream;
let server: TestServer;

before(async () => {
  upstream = await startFakeChatUpstream();
  server = await startTestServer({ PARLEY_UPSTREAM_URL: upstream.url, PARLEY_UPSTREAM_MODELS: 'up-model' });
});
after(async () => {
  await server.close();
  await upstream.close();
});

test('codex exec runs a tool the model calls through Parley, and the turn completes', { timeout: 120_000 }, async () => {
  const home = mkdtempSync(join(tmpdir(), 'parley-codex-home-'));
  const work = mkdtempSync(join(tmpdir(), 'parley-codex-work-'));
  writeFileSync(
    join(home, 'config.toml'),
    [
      'model = "up-model"',
      'model_provider = "parley"',
      '',
      '[model_providers.parley]',
      'name = "Parley"',
      `base_url = "${server.url}/v1"`,
      'wire_api = "responses"',
      '',
    ].join('\n'),
  );
  upstream.script(
    {
      chunks: [
        chunk.toolCall(0, { id: 'call_codex_1', name: 'exec_command', arguments: '{"cmd":"echo parley-ok > proof.txt' }),
        chunk.toolCall(0, { arguments: ' && cat proof.txt"}' }),
        chunk.finish('tool_calls'),
      ],
    },
    { chunks: [chunk.text('The proof file is written.'), chunk.finish('stop')] },
  );

  const result = await runCodex(
    ['exec', '--json', '--skip-git-repo-check', '--sandbox', 'workspace-write', 'Write the proof file.'],
    { CODEX_HOME: home },
    work,
  );
  const events = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
  assert.equal(result.code, 0, `codex failed:\n${result.stdout}\n${result.stderr}`);
  assert.ok(events.some((e) => e.type === 'turn.completed'), result.stdout);
  assert.equal(readFileSync(join(work, 'proof.txt'), 'utf8'), 'parley-ok\n');

  const command = events.find((e) => e.type === 'item.completed' && e.item.type === 'command_execution');
  assert.ok(command, 'codex reports the command it ran');
  const message = events.find((e) => e.type === 'item.completed' && e.item.type === 'agent_message');
  assert.equal(message?.item.text, 'The proof file is written.');

  // What Parley made of Codex's request: the namespace flattened, the cache-only web_search
  // Codex sends in a workspace-write sandbox accepted but not offered, developer messages as
  // system messages, and the command output sent back.
  const [first, second] = upstream.requests;
  const offered = first.tools.map((t: { function: { name: string } }) => t.function.name);
  assert.ok(offered.includes('exec_command'));
  assert.ok(offered.includes('multi_agent_v1__spawn_agent'));
  assert.ok(!offered.some((name: string) => name.includes('web_search')));
  assert.equal(first.messages[0].role, 'system');
  const toolMessage = second.messages.find((m: { role: string }) => m.role === 'tool');
  assert.equal(toolMessage.tool_call_id, 'call_codex_1');
  assert.match(JSON.stringify(toolMessage.content), /parley-ok/);
});
