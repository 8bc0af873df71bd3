/*
 * TEST STUB: this is NOT OpenAI's chatkit.js.
 *
 * tests/test_browser_e2e.py serves this file in place of
 * https://cdn.platform.openai.com/deployments/chatkit/chatkit.js, which the test machines cannot reach. It
 * implements only the contract @openai/chatkit-react 1.6.1 relies on:
 *   - it defines the custom element <openai-chatkit>, so customElements.whenDefined("openai-chatkit") resolves;
 *   - the element has setOptions(options) and the imperative methods useChatKit() forwards;
 *   - it dispatches the chatkit.* DOM events <ChatKit> turns into onReady, onError, onThreadChange, ...
 * On "Send" it posts a real ChatKit request body (threads.create, then threads.add_user_message) to options.api.url
 * through options.api.fetch, or the global fetch when there is none (as ChatKit does, so no token is sent then),
 * reads the server-sent events and renders the assistant's text deltas. There is no iframe, no domain-key check,
 * no history, attachments or widgets, and no styling worth the name.
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

  class OpenAIChatKitStub extends HTMLElement {
    constructor() {
      super();
      this.options = null;
      this.threadId = null;
      this.attachShadow({ mode: "open" }).innerHTML = `
        <style>
          :host { display: block; border: 1px dashed #888; font: 14px sans-serif; padding: 8px; box-sizing: border-box; }
          [part=log] { min-height: 120px; }
          .assistant { color: #063; } .user { color: #036; } .error { color: #a00; }
        </style>
        <p><b>chatkit.js test stub</b> (not OpenAI's web component)</p>
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
      this.threadId = options.initialThread ?? null;
      this.setAttribute("data-stub-initialized", "true");
      for (const control of this.shadowRoot.querySelectorAll("input, button")) control.disabled = false;
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

    async sendUserMessage({ text }) {
      if (!this.options) throw new Error("setOptions() was not called");
      const { url, fetch: customFetch } = this.options.api;
      const input = { content: [{ type: "input_text", text }], attachments: [], inference_options: {} };
      const body = this.threadId
        ? { type: "threads.add_user_message", params: { thread_id: this.threadId, input } }
        : { type: "threads.create", params: { input } };
      this.line("user", text);
      record.requests.push({ url, type: body.type, customFetch: typeof customFetch === "function" });
      const doFetch = typeof customFetch === "function" ? customFetch : window.fetch.bind(window);
      this.emit("chatkit.response.start");
      try {
        const response = await doFetch(url, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
        });
        if (!response.ok) {
          throw new Error(`ChatKit request failed: HTTP ${response.status} ${await response.text()}`);
        }
        await this.readStream(response);
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
          this.emit("chatkit.thread.change", { threadId: this.threadId });
        } else if (event.type === "thread.item.added" && event.item.type === "assistant_message") {
          bubbles.set(event.item.id, this.line("assistant", ""));
        } else if (event.type === "thread.item.updated" && event.update.type === "assistant_message.content_part.text_delta") {
          bubbles.get(event.item_id).textContent += event.update.delta;
        } else if (event.type === "thread.item.done" && event.item.type === "assistant_message") {
          const bubble = bubbles.get(event.item.id) ?? this.line("assistant", "");
          bubble.textContent = event.item.content.map((part) => part.text ?? "").join("");
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
      this.log.replaceChildren();
      this.emit("chatkit.thread.change", { threadId });
    }
    async fetchUpdates() {}
    async sendCustomAction() {}
    async showHistory() {}
    async hideHistory() {}
  }

  customElements.define("openai-chatkit", OpenAIChatKitStub);
})();
