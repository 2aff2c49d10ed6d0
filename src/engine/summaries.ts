// Reasoning summaries for back-ends that only give raw reasoning. When a request asks for a
// summary (`reasoning.summary`) and a reasoning part ends without one, a summariser model is
// asked for it; its text streams into the same reasoning item as summary parts before the item
// closes. Parts the step produces meanwhile are held back and replayed in order, so the output
// keeps OpenAI's order: the whole reasoning item, then what follows. A back-end that streams
// its own summaries is relayed as it is.
import type { ModelPart, PartSink } from '../models/types.js';

/** Streams a summary of `reasoning` through `onDelta`; resolves when it is complete. */
export type Summarise = (reasoning: string, onDelta: (delta: string) => void, signal: AbortSignal) => Promise<void>;

export interface SummarisingSink {
  sink: PartSink;
  /** Resolves once every summary has been written and every held part replayed. */
  settled(): Promise<void>;
  /** Stops any summary under way and drops what is held: the step has failed or was cancelled. */
  abort(): void;
}

export function summarisingSink(inner: PartSink, summarise: Summarise, onError: (error: unknown) => void): SummarisingSink {
  const reasoning = new Map<string, string>();
  const native = new Set<string>();
  const controller = new AbortController();
  let held: ModelPart[] | null = null;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  const forward = (part: ModelPart) => {
    if (!stopped) inner(part);
  };

  const startSummary = (id: string, text: string, end: ModelPart) => {
    held = [];
    running = summarise(text, (delta) => forward({ type: 'reasoning-summary-delta', id, delta }), controller.signal)
      .catch((error) => {
        if (!stopped) onError(error);
      })
      .then(() => {
        forward({ type: 'reasoning-summary-part-end', id });
        forward(end);
        const replay = held ?? [];
        held = null;
        // A part that ends another reasoning starts holding again; `sink` queues the rest.
        for (const part of replay) sink(part);
      });
  };

  const sink = (part: ModelPart): void => {
    if (stopped) return;
    if (held) {
      held.push(part);
      return;
    }
    switch (part.type) {
      case 'reasoning-start':
        reasoning.set(part.id, '');
        break;
      case 'reasoning-delta':
        reasoning.set(part.id, (reasoning.get(part.id) ?? '') + part.delta);
        break;
      case 'reasoning-summary-delta':
        native.add(part.id);
        break;
      case 'reasoning-end': {
        const text = reasoning.get(part.id) ?? '';
        reasoning.delete(part.id);
        if (text.trim() && !native.has(part.id)) return startSummary(part.id, text, part);
        break;
      }
    }
    forward(part);
  };

  return {
    sink,
    async settled() {
      while (held) await running;
      await running;
    },
    abort() {
      stopped = true;
      held = null;
      controller.abort();
    },
  };
}

const DETAIL: Record<string, string> = {
  concise: 'one or two sentences',
  detailed: 'a short paragraph',
  auto: 'two or three sentences',
};

/** Instructions for the summariser model. */
export function summaryInstructions(detail: string): string {
  return [
    "You summarise an AI model's private reasoning for the person who asked the question.",
    `Write ${DETAIL[detail] ?? DETAIL.auto}, in the first person, starting with a short bold title on its own line.`,
    'Summarise only the reasoning you are given; do not answer the question and do not add anything new.',
  ].join(' ');
}
