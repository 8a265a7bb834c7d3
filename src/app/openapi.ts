import { z } from 'zod';

export interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  summary: string;
  tag: string;
  auth?: 'staff' | 'reporter-secret' | 'twilio-signature';
  body?: z.ZodType;
  query?: z.ZodType;
  responses: Record<number, string>;
}

/** Collects the JSON endpoints as they are mounted, so /openapi.json cannot drift from the routes. */
export class ApiDocs {
  readonly #routes: RouteDoc[] = [];

  add(doc: RouteDoc): void {
    this.#routes.push(doc);
  }

  document(serverUrl: string) {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of this.#routes) {
      const path = r.path.replace(/:([A-Za-z]+)/g, '{$1}');
      const params = [...r.path.matchAll(/:([A-Za-z]+)/g)].map((m) => ({
        name: m[1],
        in: 'path',
        required: true,
        schema: { type: 'string' },
      }));
      const query = r.query ? queryParams(r.query) : [];
      const op: Record<string, unknown> = {
        summary: r.summary,
        tags: [r.tag],
        parameters: [...params, ...query, ...(r.auth === 'reporter-secret' ? [secretHeader] : [])],
        responses: Object.fromEntries(
          Object.entries(r.responses).map(([code, description]) => [
            code,
            Number(code) >= 400
              ? { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }
              : { description },
          ]),
        ),
      };
      if (r.auth === 'staff') op.security = [{ bearer: [] }];
      if (r.body) {
        op.requestBody = {
          required: true,
          content: { 'application/json': { schema: z.toJSONSchema(r.body, { io: 'input', unrepresentable: 'any' }) } },
        };
      }
      paths[path] = { ...paths[path], [r.method]: op };
    }
    return {
      openapi: '3.1.0',
      info: {
        title: '低保投诉举报线索系统 API / Dibao complaint hotline API',
        version: '1',
        description: 'Staff API (bearer token from /api/v1/staff/login), citizen report API, Twilio webhooks.',
      },
      servers: [{ url: serverUrl }],
      paths,
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
        schemas: {
          Error: {
            type: 'object',
            required: ['error'],
            properties: {
              error: {
                type: 'object',
                required: ['code', 'message'],
                properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
              },
            },
          },
        },
      },
    };
  }
}

const secretHeader = { name: 'X-Report-Secret', in: 'header', required: true, schema: { type: 'string' } };

function queryParams(schema: z.ZodType) {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, unknown>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    schema: s,
  }));
}
