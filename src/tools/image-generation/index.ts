// image_generation: an OpenAI-compatible Images API (PARLEY_IMAGES_URL, PARLEY_IMAGES_MODEL,
// PARLEY_IMAGES_API_KEY) behind a function the model calls with a prompt.
import { parseAllowList } from '../../net/outbound.js';
import type { ResponseInputItem, StoredItem } from '../../protocol/types.js';
import type { ServerToolKind } from '../types.js';
import { IMAGE_FUNCTION, ImageGenerationTool } from './tool.js';

export const imageGenerationKind: ServerToolKind = {
  toolTypes: ['image_generation'],
  itemTypes: ['image_generation_call'],

  unavailable({ config }) {
    return config.images ? null : 'no Images API is configured: set PARLEY_IMAGES_URL (and PARLEY_IMAGES_MODEL, PARLEY_IMAGES_API_KEY as needed)';
  },

  create(declaration, { config, logger }, context) {
    const allow = parseAllowList(config.outboundAllow);
    const images = config.images!;
    return new ImageGenerationTool(
      declaration,
      { api: { url: images.url, model: images.model, apiKey: images.apiKey, timeoutMs: config.imagesTimeoutMs, allow }, allow, logger },
      context,
    );
  },

  toModelInput(item: StoredItem): ResponseInputItem[] {
    const callId = item.id;
    const prompt = typeof item.revised_prompt === 'string' ? item.revised_prompt : '';
    const output =
      item.status === 'completed'
        ? `The image (${item.id}) was ${item.action === 'edit' ? 'edited' : 'generated'} and shown to the user.`
        : `The image generation did not complete (${String(item.status ?? 'unknown')}).`;
    return [
      { type: 'function_call', call_id: callId, name: IMAGE_FUNCTION, arguments: JSON.stringify({ prompt }) } as ResponseInputItem,
      { type: 'function_call_output', call_id: callId, output } as ResponseInputItem,
    ];
  },
};
