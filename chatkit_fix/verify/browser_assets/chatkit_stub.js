/*
 * STAND-IN: this is NOT OpenAI's chatkit.js.
 *
 * `chatkit-fix verify --browser --cdn-stub` (and the test suite) serve this file in place of
 * https://cdn.platform.openai.com/deployments/chatkit/chatkit.js where that cannot be reached. It implements only
 * the contract @openai/chatkit-react relies on, so what it proves is the page's wiring, not OpenAI's widget:
 *   - it defines the custom element <openai-chatkit>, so customElements.whenDefined("openai-chatkit") resolves;
 *   - the element has setOptions(options) and the imperative methods useChatKit() forwards;
 *   - it dispatches the chatkit.* DOM events <ChatKit> turns into onReady, onError, onThreadChange, ...
 * It speaks the real ChatKit protocol to options.api.url, through options.api.fetch when there is one and the
 * global fetch otherwise (as ChatKit does, so no token is sent then), with its own headers in a Headers object:
 * on "Send" threads.create, then threads.add_user_message; with an initialThread, threads.get_by_id to show the
 * thread's messages again. It reads the server-sent events and renders the assistant's text, and follows
 * options.theme (a string or {colorScheme}). There is no iframe, no domain-key check, no attachments or widgets.
 */
(() => {
  "use strict";
  if (customElements.get("openai-chatkit")) return;

  // What the tests read back: how often the script ran and setOptions was called.
  const record = (window.__chatkitStub = { scriptRuns: 1, setOptionsCalls: 0, requests: [] });

  function sseEvents(buffer, onEvent) {
    // Splits complete "data: ..." events off `buffer`; returns what is left (an incomplete event).
    let boundary;
    while ((boundary = buffer.indexOf("\n\n")) !== -1) {
      const chunk = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      const data = chunk
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, ""))
        .join("\n");
      if (data) onEvent(JSON.parse(data));
    }
    return buffer;
  }

  function colorScheme(theme) {
    if (theme === "dark" || theme === "light") return theme;
    return theme && typeof theme === "object" && theme.colorScheme === "dark" ? "dark" : "light";
  }

  function messageText(item) {
    return (item.content || []).map((part) => part.text ?? "").join("");
  }

  class OpenAIChatKitStub extends HTMLElement {
    constructor() {
      super();
      this.options = null;
      this.threadId = null;
      this.loadedThread = null;
      this.attachShadow({ mode: "open" }).innerHTML = `
        <style>
          :host { display: block; border: 1px dashed #888; font: 14px sans-serif; padding: 8px; box-sizing: border-box;
                  background: #fff; color: #111; }
          :host([data-color-scheme=dark]) { background: #1e1e1e; color: #eee; }
          [part=log] { min-height: 120px; }
          .assistant { color: #063; } .user { color: #036; } .error { color: #a00; }
          :host([data-color-scheme=dark]) .assistant { color: #7d7; }
          :host([data-color-scheme=dark]) .user { color: #8bf; }
        </style>
        <p><b>chatkit.js stand-in</b> (not OpenAI's web component: only the wiring is proven)</p>
        <div part="log" role="log" aria-label="Conversation"></div>
        <form>
          <input name="message" aria-label="Message" placeholder="Message" autocomplete="off" disabled />
          <button type="submit" disabled>Send</button>
        </form>`;
      this.log = this.shadowRoot.querySelector("[role=log]");
      this.input = this.shadowRoot.querySelector("input");
      this.shadowRoot.querySelector("form").addEventListener("submit", (event) => {
        event.preventDefault();
        const text = this.input.value.trim();
        if (text) {
          this.input.value = "";
          void this.sendUserMessage({ text });
        }
      });
    }

    setOptions(options) {
      record.setOptionsCalls += 1;
      this.options = options;
      this.setAttribute("data-color-scheme", colorScheme(options.theme));
      this.setAttribute("data-stub-initialized", "true");
      for (const control of this.shadowRoot.querySelectorAll("input, button")) control.disabled = false;
      const initial = options.initialThread ?? null;
      if (initial && initial !== this.loadedThread) {
        this.threadId = initial;
        this.loadedThread = initial;
        void this.loadThread(initial);
      } else if (!initial && this.loadedThread === null) {
        this.threadId = null;
      }
      this.emit("chatkit.ready");
    }

    emit(name, detail) {
      this.dispatchEvent(new CustomEvent(name, { detail }));
    }

    line(kind, text) {
      const line = document.createElement("p");
      line.className = kind;
      line.textContent = text;
      this.log.append(line);
      return line;
    }

    async post(body) {
      const { url, fetch: customFetch } = this.options.api;
      record.requests.push({ url, type: body.type, customFetch: typeof customFetch === "function" });
      const doFetch = typeof customFetch === "function" ? customFetch : window.fetch.bind(window);
      const response = await doFetch(url, {
        method: "POST",
        headers: new Headers({ "Content-Type": "application/json" }),
        body: JSON.stringify(body),
      });
      if (!response.ok) {
        throw new Error(`ChatKit request failed: HTTP ${response.status} ${await response.text()}`);
      }
      return response;
    }

    async loadThread(threadId) {
      this.emit("chatkit.thread.load.start", { threadId });
      try {
        const response = await this.post({ type: "threads.get_by_id", params: { thread_id: threadId } });
        const thread = await response.json();
        this.log.replaceChildren();
        for (const item of thread.items?.data ?? []) {
          if (item.type === "user_message") this.line("user", messageText(item));
          if (item.type === "assistant_message") this.line("assistant", messageText(item)).setAttribute("data-done", "true");
        }
      } catch (error) {
        this.line("error", String(error && error.message ? error.message : error));
        this.emit("chatkit.error", { error: error instanceof Error ? error : new Error(String(error)) });
      } finally {
        this.emit("chatkit.thread.load.end", { threadId });
      }
    }

    async sendUserMessage({ text }) {
      if (!this.options) throw new Error("setOptions() was not called");
      const input = { content: [{ type: "input_text", text }], attachments: [], inference_options: {} };
      const body = this.threadId
        ? { type: "threads.add_user_message", params: { thread_id: this.threadId, input } }
        : { type: "threads.create", params: { input } };
      this.line("user", text);
      this.emit("chatkit.response.start");
      try {
        await this.readStream(await this.post(body));
      } catch (error) {
        this.line("error", String(error && error.message ? error.message : error));
        this.emit("chatkit.error", { error: error instanceof Error ? error : new Error(String(error)) });
      } finally {
        this.emit("chatkit.response.end");
      }
    }

    async readStream(response) {
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      const bubbles = new Map();
      let buffer = "";
      const onEvent = (event) => {
        if (event.type === "thread.created") {
          this.threadId = event.thread.id;
          this.loadedThread = event.thread.id;
          this.emit("chatkit.thread.change", { threadId: this.threadId });
        } else if (event.type === "thread.item.added" && event.item.type === "assistant_message") {
          bubbles.set(event.item.id, this.line("assistant", ""));
        } else if (event.type === "thread.item.updated" && event.update.type === "assistant_message.content_part.text_delta") {
          const bubble = bubbles.get(event.item_id);
          if (bubble) bubble.textContent += event.update.delta;
        } else if (event.type === "thread.item.done" && event.item.type === "assistant_message") {
          const bubble = bubbles.get(event.item.id) ?? this.line("assistant", "");
          bubble.textContent = messageText(event.item);
          bubble.setAttribute("data-done", "true");
        } else if (event.type === "error") {
          throw new Error(`ChatKit stream error: ${event.code} ${event.message ?? ""}`);
        }
      };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer = sseEvents(buffer + decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n"), onEvent);
      }
      sseEvents(buffer + "\n\n", onEvent);
    }

    async setComposerValue({ text }) {
      if (typeof text === "string") this.input.value = text;
    }
    async focusComposer() {
      this.input.focus();
    }
    async setThreadId(threadId) {
      this.threadId = threadId;
      this.loadedThread = threadId;
      this.log.replaceChildren();
      this.emit("chatkit.thread.change", { threadId });
      if (threadId) await this.loadThread(threadId);
    }
    async fetchUpdates() {}
    async sendCustomAction() {}
    async showHistory() {}
    async hideHistory() {}
  }

  customElements.define("openai-chatkit", OpenAIChatKitStub);
})();
