// Which back-end serves a model id. `scripted` is always here. A model id is served by, in
// order: a route of the config file (its upstream, its upstream name, its default parameters);
// an upstream that lists it; the first upstream that lists no models (it takes any id).
import type { ModelParams } from '../config-file.js';
import type { Config, UpstreamConfig, UpstreamProtocol } from '../config.js';
import { ApiError } from '../protocol/errors.js';
import { createAnthropicBackend } from './anthropic.js';
import { createChatCompletionsBackend } from './chat-completions.js';
import { createResponsesBackend } from './responses-passthrough.js';
import { createScriptedBackend, SCRIPTED_MODEL_ID } from './scripted.js';
import type { ModelBackend, ModelInfo } from './types.js';

export interface ResolvedModel {
  backend: ModelBackend;
  /** The id the back-end knows the model by. */
  upstreamModel: string;
  /** Defaults for parameters the request leaves out. */
  params: ModelParams;
}

export type BackendFactory = (upstream: UpstreamConfig) => ModelBackend;

const BACKENDS: Record<UpstreamProtocol, BackendFactory | null> = {
  'chat-completions': (u) => createChatCompletionsBackend({ baseUrl: u.url, apiKey: u.apiKey, models: u.models, idleTimeoutMs: u.idleTimeoutMs }),
  anthropic: (u) => createAnthropicBackend({ baseUrl: u.url, apiKey: u.apiKey, models: u.models, idleTimeoutMs: u.idleTimeoutMs }),
  responses: (u) => createResponsesBackend({ baseUrl: u.url, apiKey: u.apiKey, models: u.models, idleTimeoutMs: u.idleTimeoutMs }),
};

interface Served {
  upstream: string;
  model: string;
  params: ModelParams;
}

export class ModelRegistry {
  private readonly scripted = createScriptedBackend();
  private readonly backends = new Map<string, ModelBackend>();
  private readonly served = new Map<string, Served>();
  private readonly catchAll: string | null;

  constructor(config: Config) {
    for (const upstream of config.upstreams) {
      const factory = BACKENDS[upstream.protocol];
      if (!factory) throw new Error(`upstream '${upstream.name}': the ${upstream.protocol} protocol is not available yet`);
      this.backends.set(upstream.name, factory(upstream));
    }
    for (const route of config.routes) this.served.set(route.id, { upstream: route.upstream, model: route.model, params: route.params });
    for (const upstream of config.upstreams) {
      for (const model of upstream.models ?? []) {
        if (!this.served.has(model)) this.served.set(model, { upstream: upstream.name, model, params: {} });
      }
    }
    this.catchAll = config.upstreams.find((u) => !u.models)?.name ?? null;
  }

  /** The model a request without `model` gets: the first configured model, else scripted. */
  get defaultModel(): string {
    return this.served.keys().next().value ?? SCRIPTED_MODEL_ID;
  }

  resolve(model: string): ResolvedModel {
    if (model === SCRIPTED_MODEL_ID) return { backend: this.scripted, upstreamModel: model, params: {} };
    const served = this.served.get(model);
    if (served) return { backend: this.backends.get(served.upstream)!, upstreamModel: served.model, params: served.params };
    if (this.catchAll) return { backend: this.backends.get(this.catchAll)!, upstreamModel: model, params: {} };
    throw new ApiError(
      404,
      `The model '${model}' does not exist or you do not have access to it.` +
        (this.backends.size ? '' : " No upstream is configured (PARLEY_UPSTREAM_URL); the scripted model is available as 'scripted'."),
      'invalid_request_error',
      'model',
      'model_not_found',
    );
  }

  /** Every model Parley can serve: scripted, the configured ones, and what catch-all upstreams list. */
  async list(): Promise<ModelInfo[]> {
    const configured = [...this.served].map(([id, s]) => ({ id, owned_by: s.upstream }));
    const catchAll = this.catchAll ? await this.backends.get(this.catchAll)!.listModels() : [];
    const seen = new Set<string>();
    return [...(await this.scripted.listModels()), ...configured, ...catchAll].filter((m) => !seen.has(m.id) && !!seen.add(m.id));
  }
}
