// The real Codex CLI (`codex exec --json`, pinned in package.json) against Parley, with a
// loopback Chat Completions upstream that calls Codex's own tools: `exec_command`, and
// `apply_patch` (a freeform custom tool with a lark grammar).
//
// Codex offers `apply_patch` only to models whose metadata says so. For a model it does not know
// (any custom provider's model) it uses fallback metadata without it, so the second test gives it
// a model catalog (`model_catalog_json`, see CODEX_MODEL_CATALOG) that sets
// `apply_patch_tool_type: "freeform"` — the configuration a Codex user writes for Parley.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { chunk, startFakeChatUpstream, type FakeChatUpstream, type Script } from '../helpers/fake-chat-upstream.js';
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

/**
 * A model catalog for Codex (`model_catalog_json`): the fields Codex 0.169 requires of a model,
 * with `apply_patch_tool_type: "freeform"` so that it offers its `apply_patch` tool.
 */
const CODEX_MODEL_CATALOG = {
  models: [
    {
      slug: 'up-model',
      display_name: 'up-model',
      base_instructions: 'You are Codex, a coding agent. Edit files with apply_patch and run commands with exec_command.',
      apply_patch_tool_type: 'freeform',
      shell_type: 'default',
      supported_reasoning_levels: [],
      visibility: 'list',
      supported_in_api: true,
      priority: 1,
      support_verbosity: false,
      truncation_policy: { mode: 'bytes', limit: 10000 },
      experimental_supported_tools: [],
    },
  ],
};

/** A fresh CODEX_HOME whose config.toml points Codex at Parley; with `catalog`, also the model catalog. */
function codexHome(options: { catalog?: object } = {}): string {
  const home = mkdtempSync(join(tmpdir(), 'parley-codex-home-'));
  const lines = ['model = "up-model"', 'model_provider = "parley"'];
  if (options.catalog) {
    writeFileSync(join(home, 'parley-models.json'), JSON.stringify(options.catalog, null, 2));
    // A relative path is resolved against the directory of config.toml (CODEX_HOME).
    lines.push('model_catalog_json = "parley-models.json"');
  }
  lines.push('', '[model_providers.parley]', 'name = "Parley"', `base_url = "${server.url}/v1"`, 'wire_api = "responses"', '');
  writeFileSync(join(home, 'config.toml'), lines.join('\n'));
  return home;
}

function parseEvents(stdout: string): any[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

test('codex exec runs a tool the model calls through Parley, and the turn completes', { timeout: 120_000 }, async () => {
  const home = codexHome();
  const work = mkdtempSync(join(tmpdir(), 'parley-codex-work-'));
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
  const events = parseEvents(result.stdout);
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

test('codex exec applies a patch with its apply_patch custom tool, then runs a command, through Parley', { timeout: 120_000 }, async () => {
  const home = codexHome({ catalog: CODEX_MODEL_CATALOG });
  const work = mkdtempSync(join(tmpdir(), 'parley-codex-work-'));
  const PATCH = ['*** Begin Patch', '*** Add File: hello.txt', '+hello from parley', '*** End Patch', ''].join('\n');

  // The scripted model decides each step by what the request holds: no tool output yet → call
  // apply_patch (after some reasoning); the patch's output → run `cat hello.txt`; the command's
  // output → answer. A request without tools is Parley's own, for a summary of that reasoning
  // (Codex asks for summaries). A step whose precondition fails answers with the problem as
  // text, which ends the turn: the assertions below then fail with that text in view.
  const toolOutput = (request: any, callId: string): string | undefined => {
    const message = request.messages.find((m: { role: string; tool_call_id?: string }) => m.role === 'tool' && m.tool_call_id === callId);
    return message && (typeof message.content === 'string' ? message.content : JSON.stringify(message.content));
  };
  const say = (text: string): Script => ({ chunks: [chunk.text(text), chunk.finish('stop')] });
  const SUMMARY = '**Adding hello.txt**\n\nI add the file with a patch.';
  const model = (request: any): Script => {
    if (!request.tools?.length) return say(SUMMARY);
    if (toolOutput(request, 'call_shell_1') !== undefined) return say('hello.txt is written.');
    if (toolOutput(request, 'call_patch_1') !== undefined) {
      return {
        chunks: [chunk.toolCall(0, { id: 'call_shell_1', name: 'exec_command', arguments: '{"cmd":"cat hello.txt"}' }), chunk.finish('tool_calls')],
      };
    }
    const names = request.tools.map((t: { function: { name: string } }) => t.function.name);
    if (!names.includes('apply_patch')) return say(`apply_patch was not offered, only ${names.join(', ')}`);
    const args = JSON.stringify({ input: PATCH });
    return {
      chunks: [
        chunk.reasoning('The user wants hello.txt; I will add it with a patch.'),
        chunk.toolCall(0, { id: 'call_patch_1', name: 'apply_patch', arguments: args.slice(0, 25) }),
        chunk.toolCall(0, { arguments: args.slice(25) }),
        chunk.finish('tool_calls'),
      ],
    };
  };
  const first = upstream.requests.length;
  // Three model steps and one reasoning summary.
  upstream.script(model, model, model, model);

  const result = await runCodex(
    ['exec', '--json', '--skip-git-repo-check', '--sandbox', 'workspace-write', 'Create hello.txt.'],
    { CODEX_HOME: home },
    work,
  );
  const events = parseEvents(result.stdout);
  assert.equal(result.code, 0, `codex failed:\n${result.stdout}\n${result.stderr}`);
  assert.ok(events.some((e) => e.type === 'turn.completed'), result.stdout);
  const message = events.find((e) => e.type === 'item.completed' && e.item.type === 'agent_message');
  assert.equal(message?.item.text, 'hello.txt is written.', result.stdout);

  // Codex applied the patch: the file on disk, and its own report of the change.
  assert.equal(readFileSync(join(work, 'hello.txt'), 'utf8'), 'hello from parley\n');
  const change = events.find((e) => e.type === 'item.completed' && e.item.type === 'file_change');
  assert.ok(change, result.stdout);
  assert.equal(change.item.status, 'completed');
  assert.deepEqual(
    change.item.changes.map((c: { path: string; kind: string }) => [c.path.endsWith('hello.txt'), c.kind]),
    [[true, 'add']],
  );
  const command = events.find((e) => e.type === 'item.completed' && e.item.type === 'command_execution');
  assert.match(command?.item.aggregated_output ?? '', /hello from parley/, result.stdout);
  // The model's reasoning reached Codex as a reasoning item with its summary; Codex sent it back
  // with its next request (`encrypted_content: null`, as a Chat Completions upstream has none).
  const reasoning = events.find((e) => e.type === 'item.completed' && e.item.type === 'reasoning');
  assert.match(reasoning?.item.text ?? '', /Adding hello\.txt/, result.stdout);

  // What went upstream: apply_patch offered as a function of one string `input`; the custom call
  // sent back as the function call the model made; both tool outputs returned to the model.
  const all = upstream.requests.slice(first);
  assert.equal(all.length, 4);
  const requests = all.filter((r) => r.tools?.length);
  assert.equal(requests.length, 3);
  const offered = requests[0].tools.find((t: { function: { name: string } }) => t.function.name === 'apply_patch');
  assert.equal(offered.function.parameters.properties.input.type, 'string');
  assert.ok(requests[0].tools.some((t: { function: { name: string } }) => t.function.name === 'exec_command'));
  const patchCall = requests[1].messages.find((m: { role: string; tool_calls?: unknown[] }) => m.role === 'assistant' && m.tool_calls);
  assert.deepEqual(patchCall.tool_calls[0].function, { name: 'apply_patch', arguments: JSON.stringify({ input: PATCH }) });
  assert.match(toolOutput(requests[1], 'call_patch_1') ?? '', /hello\.txt/);
  assert.match(toolOutput(requests[2], 'call_shell_1') ?? '', /hello from parley/);
});

test('codex exec with a catalog that supports tool search: its client tool_search runs a round trip through Parley', { timeout: 120_000 }, async () => {
  const home = codexHome({ catalog: { models: [{ ...CODEX_MODEL_CATALOG.models[0], supports_search_tool: true }] } });
  const work = mkdtempSync(join(tmpdir(), 'parley-codex-work-'));
  // Search first; once Codex has sent its tool_search_output back, answer.
  const model = (request: any): Script => {
    const searched = request.messages.some((m: { role: string; tool_call_id?: string }) => m.role === 'tool' && m.tool_call_id === 'call_search_1');
    if (searched) return { chunks: [chunk.text('No calendar tools here.'), chunk.finish('stop')] };
    return { chunks: [chunk.toolCall(0, { id: 'call_search_1', name: 'tool_search', arguments: '{"query":"calendar create","limit":2}' }), chunk.finish('tool_calls')] };
  };
  const first = upstream.requests.length;
  upstream.script(model, model);

  const result = await runCodex(['exec', '--json', '--skip-git-repo-check', '--sandbox', 'workspace-write', 'Create a calendar event.'], { CODEX_HOME: home }, work);
  assert.equal(result.code, 0, `codex failed:\n${result.stdout}\n${result.stderr}`);
  const events = parseEvents(result.stdout);
  const message = events.find((e) => e.type === 'item.completed' && e.item.type === 'agent_message');
  assert.equal(message?.item.text, 'No calendar tools here.', result.stdout);

  // Codex declared its client-executed tool_search; the model's call went to Codex, whose
  // output came back as the search function's result.
  const [searchRequest, answerRequest] = upstream.requests.slice(first);
  const search = searchRequest.tools.find((t: { function: { name: string } }) => t.function.name === 'tool_search');
  assert.ok(search, 'tool_search offered');
  assert.ok(search.function.parameters.properties.query);
  const call = answerRequest.messages.flatMap((m: { tool_calls?: any[] }) => m.tool_calls ?? []).find((c: { id: string }) => c.id === 'call_search_1');
  assert.deepEqual(JSON.parse(call.function.arguments), { query: 'calendar create', limit: 2 });
  assert.ok(answerRequest.messages.some((m: { role: string; tool_call_id?: string }) => m.role === 'tool' && m.tool_call_id === 'call_search_1'));
});
