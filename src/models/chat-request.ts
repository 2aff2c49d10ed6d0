// Request mapping: a Responses model step as a Chat Completions request body.
import type { ModelRequest } from './types.js';

type ChatContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string; detail?: string } }
  | { type: 'file'; file: { filename?: string; file_data: string } };

interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

type ChatMessage =
  | { role: 'system' | 'user'; content: string | ChatContentPart[] }
  | { role: 'assistant'; content: string | null; tool_calls?: ChatToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

/** The fields of input items this mapping reads; items are otherwise opaque here. */
export interface LooseItem {
  type?: string;
  role?: string;
  content?: unknown;
  call_id?: string | null;
  name?: string;
  arguments?: string;
  output?: unknown;
}

export interface LoosePart {
  type?: string;
  text?: string;
  refusal?: string;
  image_url?: string | null;
  detail?: string;
  file_data?: string;
  filename?: string;
}

export function buildChatRequest(request: ModelRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: request.model,
    messages: buildMessages(request),
    stream: true,
    stream_options: { include_usage: true },
  };
  if (request.temperature != null) body.temperature = request.temperature;
  if (request.topP != null) body.top_p = request.topP;
  if (request.maxOutputTokens != null) body.max_tokens = request.maxOutputTokens;
  const tools = [];
  for (const tool of request.tools) {
    if (tool.type !== 'function') continue;
    const fn: Record<string, unknown> = { name: tool.name };
    if (tool.description != null) fn.description = tool.description;
    if (tool.parameters != null) fn.parameters = tool.parameters;
    if (tool.strict != null) fn.strict = tool.strict;
    tools.push({ type: 'function', function: fn });
  }
  if (tools.length > 0) {
    body.tools = tools;
    const toolChoice = mapToolChoice(request.toolChoice);
    if (toolChoice !== undefined) body.tool_choice = toolChoice;
    body.parallel_tool_calls = request.parallelToolCalls;
  }
  const format = request.textFormat;
  if (format.type === 'json_object') body.response_format = { type: 'json_object' };
  else if (format.type === 'json_schema') {
    const schema: Record<string, unknown> = { name: format.name, schema: format.schema };
    if (format.strict != null) schema.strict = format.strict;
    if (format.description != null) schema.description = format.description;
    body.response_format = { type: 'json_schema', json_schema: schema };
  }
  if (request.user) body.user = request.user;
  if (request.promptCacheKey) body.prompt_cache_key = request.promptCacheKey;
  if (request.reasoning?.effort) body.reasoning_effort = request.reasoning.effort;
  return body;
}

function mapToolChoice(choice: unknown): unknown {
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  if (choice && typeof choice === 'object') {
    const c = choice as { type?: string; name?: string; mode?: string };
    if (c.type === 'function' && c.name) return { type: 'function', function: { name: c.name } };
    // `allowed_tools` has no widely supported Chat Completions form: keep its mode.
    if (c.type === 'allowed_tools' && (c.mode === 'auto' || c.mode === 'required')) return c.mode;
  }
  return undefined;
}

function buildMessages(request: ModelRequest): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (request.instructions) messages.push({ role: 'system', content: request.instructions });
  // Assistant text and function calls of one turn merge into one assistant message.
  let assistant: Extract<ChatMessage, { role: 'assistant' }> | null = null;
  const currentAssistant = () => {
    if (!assistant) {
      assistant = { role: 'assistant', content: null };
      messages.push(assistant);
    }
    return assistant;
  };

  for (const item of request.input as unknown as LooseItem[]) {
    const type = item.type ?? (item.role ? 'message' : undefined);
    if (type === 'message') {
      if (item.role === 'assistant') {
        const text = joinText(item.content, '');
        if (text) {
          const message = currentAssistant();
          message.content = (message.content ?? '') + text;
        }
        continue;
      }
      assistant = null;
      if (item.role === 'user') messages.push({ role: 'user', content: userContent(item.content) });
      else if (item.role === 'system' || item.role === 'developer') {
        messages.push({ role: 'system', content: joinText(item.content, '\n') });
      }
    } else if (type === 'function_call') {
      const message = currentAssistant();
      (message.tool_calls ??= []).push({
        id: item.call_id ?? '',
        type: 'function',
        function: { name: item.name ?? '', arguments: item.arguments ?? '' },
      });
    } else if (type === 'function_call_output') {
      assistant = null;
      const output = typeof item.output === 'string' ? item.output : joinText(item.output, '');
      messages.push({ role: 'tool', tool_call_id: item.call_id ?? '', content: output });
    }
    // `reasoning` and types Chat Completions cannot express are skipped; a reasoning item
    // between a turn's text and its calls does not split the assistant message.
  }
  return messages;
}

/** The text of a message's content (a string, or its text and refusal parts joined). */
export function joinText(content: unknown, separator: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  let first = true;
  for (const part of content as LoosePart[]) {
    const value = part.type === 'refusal' ? part.refusal : part.text;
    if (typeof value !== 'string') continue;
    text += first ? value : separator + value;
    first = false;
  }
  return text;
}

function userContent(content: unknown): string | ChatContentPart[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const parts: ChatContentPart[] = [];
  for (const part of content as LoosePart[]) {
    if (part.type === 'input_text' || part.type === 'output_text') {
      parts.push({ type: 'text', text: part.text ?? '' });
    } else if (part.type === 'input_image' && part.image_url) {
      const image: { url: string; detail?: string } = { url: part.image_url };
      if (part.detail) image.detail = part.detail;
      parts.push({ type: 'image_url', image_url: image });
    } else if (part.type === 'input_file' && part.file_data) {
      const file: { filename?: string; file_data: string } = { file_data: part.file_data };
      if (part.filename) file.filename = part.filename;
      parts.push({ type: 'file', file });
    }
  }
  // A lone text part goes as a plain string: some servers accept nothing else.
  if (parts.length === 1 && parts[0].type === 'text') return parts[0].text;
  return parts;
}
