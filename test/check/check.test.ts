// `parley check` against a real Parley (everything passes), against a deliberately broken server
// (the right scenarios fail, naming the right rule), and through the real CLI.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { runCheck, SCENARIOS } from '../../src/check/run.js';
import type { CheckResult } from '../../src/check/types.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { startBrokenServer, type BrokenServer } from './broken-server.js';

const byName = (results: CheckResult[]) => new Map(results.map((r) => [r.name, r]));

describe('parley check', () => {
  let parley: TestServer;
  let broken: BrokenServer;

  before(async () => {
    parley = await startTestServer();
    broken = await startBrokenServer();
  });
  after(async () => {
    await parley.close();
    await broken.close();
  });

  test('every scenario passes against Parley', async () => {
    const results = await runCheck({ baseURL: `${parley.url}/v1` });
    assert.deepEqual(
      results.map((r) => r.name),
      SCENARIOS.map((s) => s.name),
    );
    for (const result of results) assert.ok(result.ok, `${result.name}: ${result.rule}`);
  });

  test('a broken server fails the right scenarios, naming the first rule broken', async () => {
    const results = byName(await runCheck({ baseURL: broken.url }));
    const expected: Record<string, RegExp | true> = {
      'basic text': true,
      instructions: true,
      'function call': true,
      'image input': true,
      streaming: /^\[sequence\] seq \d+ \(response\.output_text\.done\): expected sequence_number \d+/,
      'function call streaming': /^\[schema\] #3: unknown event type "response\.function_call\.thinking"/,
      'multi-turn': /^\[sequence\]/,
      'structured output': /^\[structured-output\] output_text is not JSON/,
      'background resume': /^\[http\] 400: background is not supported/,
      cancel: /^\[http\] 400/,
      'malformed json': /^\[http\] status 500, expected 400/,
      'unknown previous_response_id': /^\[http\] status 200, expected 4xx/,
    };
    assert.deepEqual([...results.keys()].sort(), Object.keys(expected).sort());
    for (const [name, want] of Object.entries(expected)) {
      const result = results.get(name)!;
      if (want === true) assert.ok(result.ok, `${name} should pass: ${result.rule}`);
      else {
        assert.equal(result.ok, false, `${name} should fail`);
        assert.match(result.rule ?? '', want, name);
      }
    }
  });

  test('--filter picks scenarios by substring', async () => {
    const results = await runCheck({ baseURL: broken.url, filter: 'FUNCTION' });
    assert.deepEqual(
      results.map((r) => [r.name, r.ok]),
      [
        ['function call', true],
        ['function call streaming', false],
      ],
    );
  });

  test('a stream that never ends fails its scenario at the deadline', async () => {
    const results = await runCheck({ baseURL: broken.url, model: 'stall', filter: 'streaming', timeoutMs: 300 });
    assert.deepEqual(
      results.map((r) => [r.name, r.rule]),
      [
        ['streaming', '[timeout] no result within 300 ms'],
        ['function call streaming', '[timeout] no result within 300 ms'],
      ],
    );
  });

  test('the CLI prints JSON and exits 0 iff every scenario passed', async () => {
    const run = (url: string) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'check', url, '--json'], { env: { ...process.env, OPENAI_API_KEY: '' } }).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
      );
    const good = await run(`${parley.url}/v1`);
    assert.equal(good.code, 0);
    const report = JSON.parse(good.stdout);
    assert.equal(report.model, 'scripted');
    assert.equal(report.failed, 0);
    assert.equal(report.passed, SCENARIOS.length);
    assert.ok(report.results.every((r: CheckResult) => r.ok && typeof r.ms === 'number'));

    const bad = await run(broken.url);
    assert.equal(bad.code, 1);
    const failed = JSON.parse(bad.stdout).results.filter((r: CheckResult) => !r.ok);
    assert.ok(failed.some((r: CheckResult) => r.name === 'streaming' && r.rule?.startsWith('[sequence]')));
  });
});
