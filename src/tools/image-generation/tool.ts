// One declared image_generation tool: a function with a prompt the model calls; each call is an
// image_generation_call item (in_progress → generating → partial_image… → completed, or failed)
// whose `result` is the final image, base64. An edit starts from the conversation's latest image.
import type { Logger } from '../../log.js';
import { OutboundError, type AllowList } from '../../net/outbound.js';
import { newId } from '../../protocol/ids.js';
import type { FunctionToolDecl } from '../client-tools.js';
import { whenArgumentsComplete, type ServerTool, type ServerToolCall, type ServerToolContext, type ToolRequestContext } from '../types.js';
import { ImageApiError, runImageJob, type ImageFile, type ImageOptions, type ImagesApi } from './api.js';
import { ImageSourceError, latestImages, loadImage } from './sources.js';

export const IMAGE_FUNCTION = 'image_generation';

export interface ImageGenerationDeps {
  api: ImagesApi;
  allow: AllowList;
  logger: Logger;
}

type Action = 'generate' | 'edit' | 'auto';

type ImageGenerationItem = {
  id: string;
  type: 'image_generation_call';
  status: 'in_progress' | 'generating' | 'completed' | 'failed';
  result: string | null;
  revised_prompt?: string | null;
  action?: 'generate' | 'edit';
  size?: string;
  quality?: 'low' | 'medium' | 'high' | 'auto';
  background?: 'transparent' | 'opaque' | 'auto';
  output_format?: 'png' | 'webp' | 'jpeg';
};

export class ImageGenerationTool implements ServerTool {
  readonly functions: FunctionToolDecl[];
  private readonly options: ImageOptions;
  private readonly action: Action;
  private readonly mask: string | null;

  constructor(
    declaration: Record<string, unknown>,
    private readonly deps: ImageGenerationDeps,
    private readonly context: ToolRequestContext | undefined,
  ) {
    const str = (key: string) => (typeof declaration[key] === 'string' ? (declaration[key] as string) : undefined);
    const partial = Number(declaration.partial_images ?? 0);
    this.options = {
      model: str('model'),
      size: str('size'),
      quality: str('quality'),
      output_format: str('output_format'),
      background: str('background'),
      output_compression: typeof declaration.output_compression === 'number' ? declaration.output_compression : undefined,
      moderation: str('moderation'),
      input_fidelity: str('input_fidelity'),
      partial_images: Number.isFinite(partial) ? Math.min(3, Math.max(0, Math.trunc(partial))) : 0,
    };
    const action = str('action');
    this.action = action === 'generate' || action === 'edit' ? action : 'auto';
    const mask = declaration.input_image_mask as { image_url?: unknown } | undefined;
    this.mask = typeof mask?.image_url === 'string' ? mask.image_url : null;
    this.functions = [this.offer()];
  }

  private offer(): FunctionToolDecl {
    const properties: Record<string, unknown> = {
      prompt: { type: 'string', description: 'A full description of the image to make, or of the change to make to the image being edited.' },
    };
    if (this.action === 'auto') {
      properties.action = {
        type: 'string',
        enum: ['generate', 'edit'],
        description: 'generate: a new image; edit: change the most recent image of the conversation. Omitted: edit when there is an image, else generate.',
      };
    }
    const what =
      this.action === 'edit'
        ? 'Edit the most recent image of the conversation (one the user gave or one generated earlier).'
        : this.action === 'generate'
          ? 'Generate an image from a text prompt.'
          : 'Generate an image from a text prompt, or edit the most recent image of the conversation (one the user gave or one generated earlier).';
    return {
      type: 'function',
      name: IMAGE_FUNCTION,
      description: `${what} The user sees the image; do not repeat its data.`,
      parameters: { type: 'object', properties, required: ['prompt'], additionalProperties: false },
      strict: false,
    };
  }

  begin(name: string, _callId: string, ctx: ServerToolContext): ServerToolCall {
    return whenArgumentsComplete((args) => this.run(name, args, ctx));
  }

  private async run(name: string, argumentsJson: string, ctx: ServerToolContext): Promise<string> {
    let args: { prompt?: unknown; action?: unknown };
    try {
      args = JSON.parse(argumentsJson || '{}') as typeof args;
    } catch {
      return `${name} failed: the arguments are not valid JSON.`;
    }
    const prompt = typeof args.prompt === 'string' ? args.prompt.trim() : '';
    if (!prompt) return `${name} failed: 'prompt' is required.`;

    const item: ImageGenerationItem = { id: newId('ig'), type: 'image_generation_call', status: 'in_progress', result: null };
    const writer = ctx.writer.openToolItem(item);
    writer.progress('response.image_generation_call.in_progress');
    item.status = 'generating';
    writer.progress('response.image_generation_call.generating');
    try {
      const wanted = this.action === 'auto' && (args.action === 'generate' || args.action === 'edit') ? args.action : this.action;
      const refs = wanted === 'generate' ? [] : latestImages([...(this.context?.input ?? []), ...ctx.writer.response.output.filter((i) => i !== item)]);
      if (wanted === 'edit' && refs.length === 0) throw new ImageSourceError('there is no image in the conversation to edit');
      const load = { allow: this.deps.allow, timeoutMs: this.deps.api.timeoutMs, signal: ctx.signal };
      const images: ImageFile[] = [];
      for (const ref of refs) images.push(await loadImage(ref, load));
      const mask = this.mask && images.length ? await loadImage(this.mask.startsWith('data:') ? { kind: 'url', url: this.mask } : { kind: 'b64', data: this.mask }, load) : undefined;

      const result = await runImageJob(this.deps.api, {
        prompt,
        options: this.options,
        images,
        mask,
        signal: ctx.signal,
        onPartial: (index, b64, details) => writer.partialImage(index, b64, details),
      });
      item.result = result.b64;
      item.revised_prompt = result.revisedPrompt ?? prompt;
      item.action = images.length ? 'edit' : 'generate';
      const size = result.size ?? this.options.size;
      if (size) item.size = size;
      const quality = result.quality ?? this.options.quality;
      if (quality) item.quality = quality as ImageGenerationItem['quality'];
      const background = result.background ?? this.options.background;
      if (background) item.background = background as ImageGenerationItem['background'];
      item.output_format = (result.output_format ?? this.options.output_format ?? 'png') as ImageGenerationItem['output_format'];
      item.status = 'completed';
      writer.progress('response.image_generation_call.completed');
      writer.done();
      const described = [item.size, item.output_format].filter(Boolean).join(' ');
      return `The image was ${item.action === 'edit' ? 'edited' : 'generated'}${described ? ` (${described})` : ''} and is shown to the user. Prompt used: ${item.revised_prompt}`;
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      item.status = 'failed';
      writer.done();
      return `image_generation failed: ${this.reason(error)}.`;
    }
  }

  private reason(error: unknown): string {
    if (error instanceof ImageApiError || error instanceof OutboundError || error instanceof ImageSourceError) return error.message;
    this.deps.logger.warn({ err: error }, 'image_generation failed');
    return 'an unexpected error (see the server log)';
  }
}
