// Which back-end serves a model id. `scripted` is always here; with an upstream configured,
// its models (or, if it lists none, any other id) go to it.
import type { Config } from '../config.js';
import { badRequest } from '../protocol/errors.js';
import { createChatCompletionsBackend } from './chat-completions.js';
import { createScriptedBackend, SCRIPTED_MODEL_ID } from './scripted.js';
import type { ModelBackend, ModelInfo } from './types.js';

export interface ResolvedModel {
  backend: ModelBackend;
  /** The id the back-end knows the model by. */
  upstreamModel: string;
}

export class ModelRegistry {
  private readonly scripted = createScriptedBackend();
  private readonly upstream: ModelBackend | null;
  private readonly upstreamModels: Set<string> | null;

  constructor(config: Config) {
    const upstream = config.upstream;
    if (upstream && upstream.protocol !== 'chat-completions') {
      throw new Error(`PARLEY_UPSTREAM_PROTOCOL=${upstream.protocol} is not available yet; use chat-completions`);
    }
    this.upstream = upstream ? createChatCompletionsBackend({ ...upstream, baseUrl: upstream.url }) : null;
    this.upstreamModels = upstream?.models ? new Set(upstream.models) : null;
  }

  /** The model a request without `model` gets: the upstream's first listed model, else scripted. */
  get defaultModel(): string {
    return this.upstreamModels?.values().next().value ?? SCRIPTED_MODEL_ID;
  }

  resolve(model: string): ResolvedModel {
    if (model === SCRIPTED_MODEL_ID) return { backend: this.scripted, upstreamModel: model };
    if (this.upstream && (!this.upstreamModels || this.upstreamModels.has(model))) {
      return { backend: this.upstream, upstreamModel: model };
    }
    throw badRequest(
      `The model '${model}' does not exist or you do not have access to it.` +
        (this.upstream ? '' : ' No upstream is configured (PARLEY_UPSTREAM_URL); the scripted model is available as \'scripted\'.'),
      'model',
      'model_not_found',
    );
  }

  async list(): Promise<ModelInfo[]> {
    const lists = await Promise.all([this.scripted.listModels(), this.upstream?.listModels() ?? []]);
    return lists.flat();
  }
}
