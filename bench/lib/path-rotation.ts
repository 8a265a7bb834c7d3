/** A `requestBuilder` (load.ts) that sends GETs to the given paths in turn: a different clue per read. */
export function createRequestBuilder(data: unknown) {
  const { paths } = data as { paths: string[] };
  return (n: number) => ({ body: '', path: paths[n % paths.length]! });
}
