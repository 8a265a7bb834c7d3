import type { UploadedFile } from '../attachments/uploads.ts';

/** The files of a multipart field (an empty file input sends one nameless empty part: left out). */
export function fileList(value: unknown): File[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.filter((f): f is File => f instanceof File && f.size > 0);
}

export async function toUploaded(files: File[]): Promise<UploadedFile[]> {
  return Promise.all(files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
}
