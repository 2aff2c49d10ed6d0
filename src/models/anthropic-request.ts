// Request mapping: a Responses model step as AI SDK call options for the Anthropic provider
// (@ai-sdk/anthropic), which writes the Messages API body from them: it merges consecutive
// same-role messages (tool results go in user turns), and knows each Claude model's limits
// (max_tokens, which models take sampling parameters or budgeted thinking).
import type {
  JSONObject,
  LanguageModelV3CallOptions,
  LanguageModelV3FilePart,
  LanguageModelV3FunctionTool,
  LanguageModelV3Message,
  LanguageModelV3TextPart,
  LanguageModelV3ToolChoice,
  LanguageModelV3ToolResultOutput,
} from '@ai-sdk/provider';
import { joinText, type LooseItem as ChatItem, type LoosePart } from './chat-request.js';
import type { ModelRequest } from './types.js';

/**
 * `reasoning.effort` → extended thinking's `budget_tokens` (Anthropic's minimum is 1024). No
 * effort, or `none`, sends no `thinking`. Models that only think adaptively get adaptive
 * thinking from the provider instead.
 */
export const THINKING_BUDGETS: Readonly<Record<string, number>> = {
  minimal: 1024,
  low: 1024,
  medium: 4096,
  high: 16384,
  xhigh: 32768,
};

/**
 * A reasoning item's `encrypted_content` holds what Anthropic needs to accept the thinking
 * back: the thinking block's `signature`, or, for a `redacted_thinking` block, its data after
 * this prefix.
 */
export const REDACTED_THINKING_PREFIX = 'redacted_thinking:';

export type AnthropicCall = Omit<LanguageModelV3CallOptions, 'abortSignal' | 'includeRawChunks'>;

/** Input items as this mapping reads them: a reasoning item also carries `encrypted_content`. */
interface LooseItem extends ChatItem {
  encrypted_content?: string | null;
}

export function buildAnthropicCall(request: ModelRequest): AnthropicCall {
  const call: AnthropicCall = { prompt: buildPrompt(request) };
  // Without max_output_tokens the provider sends the model's own maximum (4096 for ids it does not take for Claude).
  if (request.maxOutputTokens != null) call.maxOutputTokens = request.maxOutputTokens;
  if (request.temperature != null) call.temperature = request.temperature;
  if (request.topP != null) call.topP = request.topP;

  const tools: LanguageModelV3FunctionTool[] = [];
  for (const tool of request.tools) {
    if (tool.type !== 'function') continue;
    const fn: LanguageModelV3FunctionTool = {
      type: 'function',
      name: tool.name,
      inputSchema: (tool.parameters ?? { type: 'object', properties: {} }) as LanguageModelV3FunctionTool['inputSchema'],
    };
    if (tool.description != null) fn.description = tool.description;
    if (tool.strict != null) fn.strict = tool.strict;
    tools.push(fn);
  }
  if (tools.length > 0) {
    call.tools = tools;
    const toolChoice = mapToolChoice(request.toolChoice);
    if (toolChoice) call.toolChoice = toolChoice;
  }

  const format = request.textFormat;
  if (format.type === 'json_schema') {
    call.responseFormat = { type: 'json', schema: format.schema as JSONObject, name: format.name };
    if (format.description != null) call.responseFormat.description = format.description;
  } else if (format.type === 'json_object') {
    call.responseFormat = { type: 'json' };
  }

  const anthropic: JSONObject = {};
  const budget = request.reasoning?.effort ? THINKING_BUDGETS[request.reasoning.effort] : undefined;
  if (budget !== undefined) anthropic.thinking = { type: 'enabled', budgetTokens: budget };
  if (tools.length > 0 && !request.parallelToolCalls) anthropic.disableParallelToolUse = true;
  if (request.user) anthropic.metadata = { userId: request.user };
  if (Object.keys(anthropic).length > 0) call.providerOptions = { anthropic };
  return call;
}

function mapToolChoice(choice: unknown): LanguageModelV3ToolChoice | undefined {
  if (choice === 'auto' || choice === 'none' || choice === 'required') return { type: choice };
  if (choice && typeof choice === 'object') {
    const c = choice as { type?: string; name?: string; mode?: string };
    if (c.type === 'function' && c.name) return { type: 'tool', toolName: c.name };
    if (c.type === 'allowed_tools' && (c.mode === 'auto' || c.mode === 'required')) return { type: c.mode };
  }
  return undefined;
}

/**
 * One prompt message per input item; the provider merges neighbours of the same role into one
 * Anthropic message. System and developer messages join the instructions in `system`, the only
 * place Anthropic takes them.
 */
function buildPrompt(request: ModelRequest): LanguageModelV3Message[] {
  const system: string[] = request.instructions ? [request.instructions] : [];
  const messages: LanguageModelV3Message[] = [];
  const toolNames = new Map<string, string>();

  for (const item of request.input as unknown as LooseItem[]) {
    const type = item.type ?? (item.role ? 'message' : undefined);
    if (type === 'message') {
      if (item.role === 'user') {
        const content = userContent(item.content);
        if (content.length > 0) messages.push({ role: 'user', content });
      } else if (item.role === 'assistant') {
        const text = joinText(item.content, '');
        if (text) messages.push({ role: 'assistant', content: [{ type: 'text', text }] });
      } else if (item.role === 'system' || item.role === 'developer') {
        const text = joinText(item.content, '\n');
        if (text) system.push(text);
      }
    } else if (type === 'reasoning') {
      const part = thinkingPart(item);
      if (part) messages.push({ role: 'assistant', content: [part] });
    } else if (type === 'function_call') {
      const callId = item.call_id ?? '';
      toolNames.set(callId, item.name ?? '');
      messages.push({
        role: 'assistant',
        content: [{ type: 'tool-call', toolCallId: callId, toolName: item.name ?? '', input: parseArguments(item.arguments) }],
      });
    } else if (type === 'function_call_output') {
      const callId = item.call_id ?? '';
      messages.push({
        role: 'tool',
        content: [{ type: 'tool-result', toolCallId: callId, toolName: toolNames.get(callId) ?? '', output: toolOutput(item.output) }],
      });
    }
    // Other item types have no Anthropic form and are skipped.
  }
  if (system.length > 0) messages.unshift({ role: 'system', content: system.join('\n\n') });
  return messages;
}

/**
 * A reasoning item goes back as the thinking block it came from, which Anthropic accepts only
 * with its signature: items without `encrypted_content` (not included, or from another model)
 * are left out.
 */
function thinkingPart(item: LooseItem): Extract<LanguageModelV3Message, { role: 'assistant' }>['content'][number] | null {
  const encrypted = item.encrypted_content;
  if (!encrypted) return null;
  if (encrypted.startsWith(REDACTED_THINKING_PREFIX)) {
    const redactedData = encrypted.slice(REDACTED_THINKING_PREFIX.length);
    return { type: 'reasoning', text: '', providerOptions: { anthropic: { redactedData } } };
  }
  const text = Array.isArray(item.content)
    ? (item.content as LoosePart[]).map((p) => (p.type === 'reasoning_text' && typeof p.text === 'string' ? p.text : '')).join('')
    : '';
  return { type: 'reasoning', text, providerOptions: { anthropic: { signature: encrypted } } };
}

function parseArguments(args: string | undefined): JSONObject {
  try {
    const value: unknown = JSON.parse(args || '{}');
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as JSONObject;
  } catch {
    // not JSON: Anthropic takes only an object
  }
  return {};
}

function toolOutput(output: unknown): LanguageModelV3ToolResultOutput {
  if (typeof output === 'string') return { type: 'text', value: output };
  if (!Array.isArray(output)) return { type: 'text', value: '' };
  const value: Extract<LanguageModelV3ToolResultOutput, { type: 'content' }>['value'] = [];
  for (const part of output as LoosePart[]) {
    if (part.type === 'input_text' || part.type === 'output_text') value.push({ type: 'text', text: part.text ?? '' });
    else if (part.type === 'input_image' && part.image_url) {
      const data = parseDataUrl(part.image_url);
      value.push(data ? { type: 'image-data', data: data.base64, mediaType: data.mediaType } : { type: 'image-url', url: part.image_url });
    }
  }
  return { type: 'content', value };
}

function userContent(content: unknown): Array<LanguageModelV3TextPart | LanguageModelV3FilePart> {
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  if (!Array.isArray(content)) return [];
  const parts: Array<LanguageModelV3TextPart | LanguageModelV3FilePart> = [];
  for (const part of content as LoosePart[]) {
    if (part.type === 'input_text' || part.type === 'output_text') {
      parts.push({ type: 'text', text: part.text ?? '' });
    } else if (part.type === 'input_image' && part.image_url) {
      const data = parseDataUrl(part.image_url);
      if (data) parts.push({ type: 'file', mediaType: data.mediaType, data: data.base64 });
      // An http(s) URL goes as Anthropic's `url` image source: Anthropic fetches it.
      else if (/^https?:\/\//i.test(part.image_url)) parts.push({ type: 'file', mediaType: 'image/*', data: new URL(part.image_url) });
    } else if (part.type === 'input_file' && part.file_data) {
      // PDFs and plain text become Anthropic documents; other files have no Anthropic form.
      const data = parseDataUrl(part.file_data);
      if (data && (data.mediaType === 'application/pdf' || data.mediaType === 'text/plain')) {
        const file: LanguageModelV3FilePart = { type: 'file', mediaType: data.mediaType, data: data.base64 };
        if (part.filename) file.filename = part.filename;
        parts.push(file);
      }
    }
  }
  return parts;
}

function parseDataUrl(url: string): { mediaType: string; base64: string } | null {
  const match = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  return match ? { mediaType: match[1], base64: match[2] } : null;
}
