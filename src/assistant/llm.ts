import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';

/**
 * The one port to a language model: the chat-completions API every OpenAI-compatible endpoint
 * speaks (OpenAI, DeepSeek, Qwen's compatible mode, vLLM, Ollama). Each call has a per-attempt
 * timeout and retries (the client's own: timeouts, connection errors, 408/409/429 and 5xx, with
 * backoff and Retry-After), and obeys the caller's signal, which carries the task's overall
 * deadline. Failures come back as one error type with a short reason the audit row keeps.
 */
export type ChatMessage = ChatCompletionMessageParam;
export type ToolSpec = ChatCompletionTool;

export interface ToolCall {
  id: string;
  name: string;
  /** The arguments as the model wrote them (JSON text, not yet checked). */
  arguments: string;
}

export interface ChatTurn {
  content: string;
  toolCalls: ToolCall[];
  finishReason: string | null;
  promptTokens: number;
  completionTokens: number;
  model: string;
}

export interface ChatRequest {
  messages: ChatMessage[];
  tools?: ToolSpec[];
  temperature?: number;
  maxTokens?: number;
  signal: AbortSignal;
}

export interface LlmPort {
  readonly model: string;
  readonly streaming: boolean;
  complete(request: ChatRequest): Promise<ChatTurn>;
}

/**
 * Why a model call gave no usable answer. `deadline`: the task's overall deadline passed;
 * `timeout`: every attempt timed out; `rate_limited`, `http_<status>`: the endpoint refused after
 * the retries; `connection`: it could not be reached; `malformed`: it answered something that is
 * not a chat completion.
 */
export class LlmFailure extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
    this.name = 'LlmFailure';
  }

  /** Transient: the model is slow or down, not wrong. */
  get transient(): boolean {
    return ['deadline', 'timeout', 'rate_limited', 'connection'].includes(this.reason) || /^http_5\d\d$/.test(this.reason);
  }
}

export interface OpenAiOptions {
  baseUrl?: string;
  apiKey: string;
  model: string;
  timeoutMs: number;
  maxRetries: number;
  stream: boolean;
}

export function openAiPort(options: OpenAiOptions): LlmPort {
  const client = new OpenAI({
    apiKey: options.apiKey,
    ...(options.baseUrl ? { baseURL: options.baseUrl } : {}),
    timeout: options.timeoutMs,
    maxRetries: options.maxRetries,
    // The SDK logs through console by default; failures reach our log through LlmFailure instead.
    logLevel: 'off',
  });

  async function completePlain(request: ChatRequest): Promise<ChatTurn> {
    const completion = await client.chat.completions.create(
      {
        model: options.model,
        messages: request.messages,
        ...(request.tools?.length ? { tools: request.tools } : {}),
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
      },
      { signal: request.signal },
    );
    const choice = completion.choices?.[0];
    if (!choice?.message) throw new LlmFailure('malformed', 'the answer has no choices');
    return {
      content: choice.message.content ?? '',
      toolCalls: (choice.message.tool_calls ?? []).flatMap((call) =>
        call.type === 'function' ? [{ id: call.id, name: call.function.name, arguments: call.function.arguments ?? '' }] : [],
      ),
      finishReason: choice.finish_reason ?? null,
      promptTokens: completion.usage?.prompt_tokens ?? 0,
      completionTokens: completion.usage?.completion_tokens ?? 0,
      model: completion.model || options.model,
    };
  }

  /** Streamed: content and tool-call fragments are joined by index; usage comes in the last chunk. */
  async function completeStreamed(request: ChatRequest): Promise<ChatTurn> {
    const stream = await client.chat.completions.create(
      {
        model: options.model,
        messages: request.messages,
        stream: true,
        stream_options: { include_usage: true },
        ...(request.tools?.length ? { tools: request.tools } : {}),
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
      },
      { signal: request.signal },
    );
    let content = '';
    let finishReason: string | null = null;
    let model = options.model;
    let promptTokens = 0;
    let completionTokens = 0;
    const calls = new Map<number, ToolCall>();
    for await (const chunk of stream) {
      if (chunk.model) model = chunk.model;
      if (chunk.usage) {
        promptTokens = chunk.usage.prompt_tokens ?? promptTokens;
        completionTokens = chunk.usage.completion_tokens ?? completionTokens;
      }
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      if (choice.delta?.content) content += choice.delta.content;
      for (const fragment of choice.delta?.tool_calls ?? []) {
        const call = calls.get(fragment.index) ?? { id: '', name: '', arguments: '' };
        if (fragment.id) call.id = fragment.id;
        if (fragment.function?.name) call.name += fragment.function.name;
        if (fragment.function?.arguments) call.arguments += fragment.function.arguments;
        calls.set(fragment.index, call);
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
    const toolCalls = [...calls.entries()].sort(([a], [b]) => a - b).map(([index, call]) => ({ ...call, id: call.id || `call_${index}` }));
    return { content, toolCalls, finishReason, promptTokens, completionTokens, model };
  }

  return {
    model: options.model,
    streaming: options.stream,
    async complete(request) {
      try {
        return await (options.stream ? completeStreamed(request) : completePlain(request));
      } catch (error) {
        throw asFailure(error, request.signal);
      }
    },
  };
}

export function asFailure(error: unknown, signal?: AbortSignal): LlmFailure {
  if (error instanceof LlmFailure) return error;
  if (error instanceof APIUserAbortError || signal?.aborted) return new LlmFailure('deadline', 'the task deadline passed');
  if (error instanceof APIConnectionTimeoutError) return new LlmFailure('timeout', 'the model did not answer in time');
  if (error instanceof APIConnectionError) return new LlmFailure('connection', `the model endpoint could not be reached: ${error.message}`);
  if (error instanceof APIError && error.status !== undefined) {
    return new LlmFailure(error.status === 429 ? 'rate_limited' : `http_${error.status}`, `the model endpoint answered ${error.status}`);
  }
  if (error instanceof SyntaxError) return new LlmFailure('malformed', `the model endpoint answered invalid JSON: ${error.message}`);
  return new LlmFailure('malformed', error instanceof Error ? error.message : String(error));
}

/**
 * Runs `task` under an overall deadline: the signal aborts the model call in flight (and stops a
 * retry from starting), and the race returns at the deadline even while the client sleeps before
 * a retry.
 */
export async function withDeadline<T>(ms: number, task: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new LlmFailure('deadline', `no answer within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([task(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
    controller.abort(); // nothing of this task may go on after it returned
  }
}
