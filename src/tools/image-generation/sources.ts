// Which image an edit starts from: the most recent one in the conversation — an image the user
// gave (input_image parts of a user message: all of that message's images) or one generated
// earlier (an image_generation_call's result), whichever came last; the current response's own
// output counts as the most recent.
import { outboundRequest, type AllowList } from '../../net/outbound.js';
import type { ImageFile } from './api.js';

type Item = { type?: string; role?: string; content?: unknown; result?: unknown; status?: string };

export type ImageRef = { kind: 'b64'; data: string } | { kind: 'url'; url: string } | { kind: 'file'; fileId: string };

/** The images of the most recent image-bearing item, or [] when there are none. */
export function latestImages(items: readonly unknown[]): ImageRef[] {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i] as Item;
    if (item?.type === 'image_generation_call' && typeof item.result === 'string' && item.result) return [{ kind: 'b64', data: item.result }];
    if ((item?.type === 'message' || item?.type === undefined) && item?.role === 'user' && Array.isArray(item.content)) {
      const refs = (item.content as Array<{ type?: string; image_url?: unknown; file_id?: unknown }>).flatMap((part): ImageRef[] => {
        if (part?.type !== 'input_image') return [];
        if (typeof part.image_url === 'string' && part.image_url) return [{ kind: 'url', url: part.image_url }];
        if (typeof part.file_id === 'string' && part.file_id) return [{ kind: 'file', fileId: part.file_id }];
        return [];
      });
      if (refs.length) return refs;
    }
  }
  return [];
}

export class ImageSourceError extends Error {
  override name = 'ImageSourceError';
}

const MAX_IMAGE_BYTES = 50 * 1024 * 1024;

/** The bytes of an image: base64, a data: URL, or an http(s) URL fetched through the outbound guard. */
export async function loadImage(ref: ImageRef, options: { allow: AllowList; timeoutMs: number; signal: AbortSignal }): Promise<ImageFile> {
  if (ref.kind === 'file') {
    throw new ImageSourceError(`input image ${ref.fileId} is given by file_id, which Parley cannot read yet; send it as an image_url (a data: URL)`);
  }
  if (ref.kind === 'b64') return file(Buffer.from(ref.data, 'base64'));
  const data = ref.url.match(/^data:([^;,]+)?(;base64)?,(.*)$/s);
  if (data) return file(data[2] ? Buffer.from(data[3], 'base64') : Buffer.from(decodeURIComponent(data[3])), data[1]);
  if (!/^https?:\/\//i.test(ref.url)) throw new ImageSourceError('an input image URL must be a data: URL or an http(s) URL');
  const res = await outboundRequest(ref.url, {
    allow: options.allow,
    timeoutMs: options.timeoutMs,
    maxBytes: MAX_IMAGE_BYTES,
    signal: options.signal,
    acceptContentType: (type) => type.startsWith('image/') || type === 'application/octet-stream' || type === '',
  });
  if (res.status !== 200) {
    res.close();
    throw new ImageSourceError(`the input image at ${ref.url} answered HTTP ${res.status}`);
  }
  return file(await res.buffer(), res.mediaType);
}

function file(data: Buffer, declared?: string): ImageFile {
  const sniffed = sniffImageType(data);
  if (!sniffed && !declared?.startsWith('image/')) throw new ImageSourceError('an input image is not a PNG, JPEG, WebP or GIF image');
  return { data, mimeType: sniffed ?? declared! };
}

/** The image type from its first bytes. */
export function sniffImageType(data: Buffer): string | null {
  if (data.length >= 8 && data.readUInt32BE(0) === 0x89504e47) return 'image/png';
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'image/jpeg';
  if (data.length >= 12 && data.toString('latin1', 0, 4) === 'RIFF' && data.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  if (data.length >= 6 && data.toString('latin1', 0, 3) === 'GIF') return 'image/gif';
  return null;
}
