import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local OpenAI-compatible server for tests: `POST /v1/chat/completions` answering in JSON or,
 * when the request says `stream: true`, as server-sent events (chunks with content and tool-call
 * fragments, a usage chunk when `stream_options.include_usage`, then `[DONE]`), the way OpenAI,
 * DeepSeek, Qwen's compatible mode, vLLM and Ollama do. Each test scripts the answers in order;
 * every request is recorded (headers and parsed body) so a test can assert what the product sent.
 *
 * Scripts: plain text, tool calls, an HTTP error (429 says `retry-after-ms`, as rate limits do),
 * a slow answer, an answer that never comes (`hang`), or a 200 whose body is not JSON. A request
 * with nothing scripted gets a 500 naming the problem, so a missing script fails loudly.
 */
export interface Usage {
  prompt: number;
  completion: number;
}

export type Script =
  | { text: string; usage?: Usage; delayMs?: number }
  | { toolCalls: { name: string; arguments: unknown; id?: string }[]; text?: string; usage?: Usage }
  | { status: number; message?: string; headers?: Record<string, string> }
  | { hang: true }
  | { malformed: true };

export interface RecordedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The parsed JSON body. */
  body: ChatBody;
  raw: string;
  /** The client went away before an answer was written. */
  abandoned: boolean;
}

export interface ChatBody {
  model: string;
  messages: { role: string; content: string | null; tool_calls?: unknown[]; tool_call_id?: string }[];
  tools?: { type: string; function: { name: string; description?: string; parameters?: unknown } }[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  temperature?: number;
  [key: string]: unknown;
}

const DEFAULT_USAGE: Usage = { prompt: 120, completion: 30 };

export class LlmServer {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: (Script | ((request: RecordedRequest) => Script))[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private counter = 0;

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<LlmServer> {
    const server = http.createServer();
    const llm = new LlmServer(server);
    server.on('request', (req, res) => void llm.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return llm;
  }

  /** The base URL a client is configured with (OPENAI_BASE_URL). */
  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  /** Queues answers, one per request, in order. A function chooses the answer from the request. */
  reply(...scripts: (Script | ((request: RecordedRequest) => Script))[]): this {
    this.queue.push(...scripts);
    return this;
  }

  /** Forgets recorded requests and unused scripts. */
  reset(): void {
    this.requests.length = 0;
    this.queue.length = 0;
  }

  get pending(): number {
    return this.queue.length;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' } }));
      return;
    }
    const request: RecordedRequest = { path: req.url, headers: req.headers, body: JSON.parse(raw) as ChatBody, raw, abandoned: false };
    this.requests.push(request);
    res.on('close', () => {
      if (!res.writableFinished) request.abandoned = true;
    });
    const next = this.queue.shift();
    const script = typeof next === 'function' ? next(request) : next;
    if (!script) {
      this.error(res, 500, 'the test scripted no answer for this request');
      return;
    }
    if ('hang' in script) return; // the client has to give up on its own
    if ('malformed' in script) {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"id": "chatcmpl-broken", "choices": [');
      return;
    }
    if ('status' in script) {
      const headers = script.status === 429 ? { 'retry-after-ms': '20', ...script.headers } : (script.headers ?? {});
      this.error(res, script.status, script.message ?? `scripted ${script.status}`, headers);
      return;
    }
    const delayMs = 'delayMs' in script ? (script.delayMs ?? 0) : 0;
    if (delayMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          resolve();
        }, delayMs);
        this.timers.add(timer);
      });
      if (res.destroyed) return;
    }
    const id = `chatcmpl-${++this.counter}`;
    const answer = {
      text: script.text ?? '',
      toolCalls: 'toolCalls' in script
        ? script.toolCalls.map((c, i) => ({ id: c.id ?? `call_${this.counter}_${i}`, name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments) }))
        : [],
      usage: script.usage ?? DEFAULT_USAGE,
    };
    if (request.body.stream) this.stream(res, id, request.body, answer);
    else this.json(res, id, request.body, answer);
  }

  private json(res: http.ServerResponse, id: string, body: ChatBody, answer: Answer): void {
    const message = {
      role: 'assistant',
      content: answer.toolCalls.length && !answer.text ? null : answer.text,
      ...(answer.toolCalls.length
        ? { tool_calls: answer.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) }
        : {}),
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: body.model,
        choices: [{ index: 0, message, finish_reason: answer.toolCalls.length ? 'tool_calls' : 'stop' }],
        usage: { prompt_tokens: answer.usage.prompt, completion_tokens: answer.usage.completion, total_tokens: answer.usage.prompt + answer.usage.completion },
      }),
    );
  }

  /** Content in pieces of a few characters; each tool call as its id and name, then its arguments in pieces. */
  private stream(res: http.ServerResponse, id: string, body: ChatBody, answer: Answer): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const base = { id, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: body.model };
    const send = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
    const delta = (d: Record<string, unknown>, finish: string | null = null) => send({ ...base, choices: [{ index: 0, delta: d, finish_reason: finish }] });
    delta({ role: 'assistant', content: '' });
    for (const piece of pieces(answer.text, 4)) delta({ content: piece });
    answer.toolCalls.forEach((call, index) => {
      delta({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] });
      for (const piece of pieces(call.arguments, 7)) delta({ tool_calls: [{ index, function: { arguments: piece } }] });
    });
    delta({}, answer.toolCalls.length ? 'tool_calls' : 'stop');
    if (body.stream_options?.include_usage) {
      send({ ...base, choices: [], usage: { prompt_tokens: answer.usage.prompt, completion_tokens: answer.usage.completion, total_tokens: answer.usage.prompt + answer.usage.completion } });
    }
    res.end('data: [DONE]\n\n');
  }

  private error(res: http.ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
    res
      .writeHead(status, { 'content-type': 'application/json', ...headers })
      .end(JSON.stringify({ error: { message, type: status === 429 ? 'rate_limit_error' : 'server_error', code: null } }));
  }
}

interface Answer {
  text: string;
  toolCalls: { id: string; name: string; arguments: string }[];
  usage: Usage;
}

function pieces(text: string, size: number): string[] {
  const chars = Array.from(text);
  const out: string[] = [];
  for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(''));
  return out;
}

