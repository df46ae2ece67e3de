export interface Answer {
  status: number;
  body: Record<string, unknown>;
  /** How many tries it took: a 409 after a try that got no answer means that try went through. */
  attempts: number;
}

const parse = (text: string): Record<string, unknown> => {
  try {
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    return { text: text.slice(0, 200) };
  }
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The rehearsal's HTTP client for whichever API is up, signed in as one person per email. No answer and
 * 5xx are tried again (the API may be restarting, a 503 says when to come back) until `patienceMs`; 4xx
 * answers are the caller's to read. A token the other version does not take is replaced by signing in again.
 */
export function apiClient(baseUrl: string, password: string, patienceMs = 300_000) {
  const tokens = new Map<string, string>();
  let calls = 0;
  const retried: Record<string, number> = {};

  async function once(method: string, path: string, body: unknown, token: string | null): Promise<Omit<Answer, 'attempts'> & { retryAfterMs?: number }> {
    calls++;
    try {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(120_000),
      });
      const text = await res.text();
      const retryAfter = res.headers.get('retry-after');
      return {
        status: res.status,
        body: parse(text),
        ...(retryAfter && /^\d+$/.test(retryAfter) ? { retryAfterMs: Number(retryAfter) * 1000 } : {}),
      };
    } catch (error) {
      return { status: 0, body: { error: { message: String((error as Error).cause ?? error) } } };
    }
  }

  async function send(method: string, path: string, body: unknown, token: string | null): Promise<Answer> {
    const deadline = Date.now() + patienceMs;
    for (let attempts = 1; ; attempts++) {
      const answer = await once(method, path, body, token);
      if ((answer.status >= 200 && answer.status < 500) || Date.now() > deadline) return { status: answer.status, body: answer.body, attempts };
      const label = answer.status === 0 ? 'no answer' : String(answer.status);
      retried[label] = (retried[label] ?? 0) + 1;
      await sleep(answer.retryAfterMs ?? Math.min(250 * 2 ** attempts, 2_000));
    }
  }

  async function signIn(email: string): Promise<string> {
    const answer = await send('POST', '/api/auth/login', { email, password }, null);
    if (answer.status !== 200) throw new Error(`${email} could not sign in: ${answer.status} ${JSON.stringify(answer.body)}`);
    const token = String(answer.body.token);
    tokens.set(email, token);
    return token;
  }

  return {
    stats: () => ({ calls, retried }),
    /** `method path` as `email`; throws unless the status is one of `expect`. */
    async as(email: string, method: string, path: string, body: unknown, expect: number[] = [200, 201]): Promise<Answer> {
      let answer = await send(method, path, body, tokens.get(email) ?? (await signIn(email)));
      if (answer.status === 401) answer = await send(method, path, body, await signIn(email));
      if (!expect.includes(answer.status)) throw new Error(`${method} ${path} as ${email} answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 400)}`);
      return answer;
    },
  };
}

export type ApiClient = ReturnType<typeof apiClient>;
