// The official OpenAPI description as a validator: events and objects are checked against the
// project's copy of the published schema (spec/ at the package root). Used by the tests and by
// `parley check`, so that both apply one rule set.
import fs from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';

const SPEC_URL = new URL('../../spec/openai-responses-subset.json', import.meta.url);
const SPEC_ID = 'https://parley.local/openai-responses-subset.json';
/** Parley's own events (the opt-in `response.output_text.annotation.queued`), next to the official ones. */
const PARLEY_SPEC_URL = new URL('../../spec/parley-events.json', import.meta.url);
const PARLEY_SPEC_ID = 'https://parley.local/parley-events.json';
const PARLEY_EVENTS: Record<string, string> = { 'response.output_text.annotation.queued': 'ResponseOutputTextAnnotationQueuedEvent' };

interface SpecState {
  ajv: Ajv2020;
  schemas: Record<string, { properties?: { type?: { enum?: string[] } } }>;
  validators: Map<string, ValidateFunction>;
  /** Event type → the name of the union member that defines it. */
  eventSchemaByType: Map<string, string>;
}

let state: SpecState | null = null;

function spec(): SpecState {
  if (state) return state;
  const doc = JSON.parse(fs.readFileSync(SPEC_URL, 'utf8'));
  const ajv = new Ajv2020({ strict: false, allErrors: false });
  for (const format of ['unixtime', 'uri', 'float']) ajv.addFormat(format, true);
  ajv.addSchema({ $id: SPEC_ID, components: doc.components });
  ajv.addSchema({ $id: PARLEY_SPEC_ID, components: JSON.parse(fs.readFileSync(PARLEY_SPEC_URL, 'utf8')).components });
  const schemas = doc.components.schemas;
  const eventSchemaByType = new Map<string, string>();
  for (const member of schemas.ResponseStreamEvent.anyOf as { $ref: string }[]) {
    const name = member.$ref.split('/').pop()!;
    for (const type of schemas[name]?.properties?.type?.enum ?? []) eventSchemaByType.set(type, name);
  }
  state = { ajv, schemas, validators: new Map(), eventSchemaByType };
  return state;
}

function validator(name: string): ValidateFunction {
  const s = spec();
  let validate = s.validators.get(name);
  if (!validate) {
    if (!s.schemas[name]) throw new Error(`no schema named ${name} in the spec`);
    validate = s.ajv.compile({ $ref: `${SPEC_ID}#/components/schemas/${name}` });
    s.validators.set(name, validate);
  }
  return validate;
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ' ' + JSON.stringify(e.params) : ''}`)
    .join('; ');
}

/** Null when `value` matches the named component schema, else a short description of why not. */
export function validateSchema(name: string, value: unknown): string | null {
  const validate = validator(name);
  return validate(value) ? null : `${name}: ${describeErrors(validate.errors)}`;
}

function validateParley(name: string, value: unknown): string | null {
  const s = spec();
  const key = `parley:${name}`;
  let validate = s.validators.get(key);
  if (!validate) {
    validate = s.ajv.compile({ $ref: `${PARLEY_SPEC_ID}#/components/schemas/${name}` });
    s.validators.set(key, validate);
  }
  return validate(value) ? null : `${name}: ${describeErrors(validate.errors)}`;
}

/** Null when the event is a valid `ResponseStreamEvent`, else a short description of why not. */
export function validateEvent(event: unknown): string | null {
  const type = (event as { type?: unknown } | null)?.type;
  const parley = typeof type === 'string' && Object.hasOwn(PARLEY_EVENTS, type) ? PARLEY_EVENTS[type] : undefined;
  if (parley) return validateParley(parley, event);
  if (validator('ResponseStreamEvent')(event)) return null;
  const member = typeof type === 'string' ? spec().eventSchemaByType.get(type) : undefined;
  // The union's own errors list every member it tried; the member named by `type` says more.
  if (!member) return `unknown event type ${JSON.stringify(type)}`;
  return validateSchema(member, event) ?? `${String(type)}: does not match ResponseStreamEvent`;
}
