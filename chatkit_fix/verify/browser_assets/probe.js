/*
 * chatkit-fix verify --browser: runs before the page's own scripts and records what the page hands ChatKit.
 *
 * When <openai-chatkit> is defined (by chatkit.js or its stand-in) the element's setOptions is wrapped: each call is
 * recorded (the api url, whether there is an api.fetch, the theme, whether the element was rendered then and which
 * ancestor hid it), and a custom api.fetch is wrapped so that what ChatKit passed into it (url, headers, body) is
 * recorded before the page's own fetch runs. Python compares that with what went out on the wire.
 */
(() => {
  "use strict";
  if (window.__chatkitFixProbe) return;
  const probe = (window.__chatkitFixProbe = { defined: false, setOptions: [], fetchCalls: [] });

  function describeHeaders(headers) {
    if (headers == null) return { kind: "none", entries: [] };
    if (headers instanceof Headers) return { kind: "Headers", entries: [...headers.entries()] };
    if (Array.isArray(headers)) return { kind: "array", entries: headers.map(([k, v]) => [String(k).toLowerCase(), String(v)]) };
    if (typeof headers === "object") {
      return { kind: "object", entries: Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)]) };
    }
    return { kind: typeof headers, entries: [] };
  }

  function describeBody(body) {
    if (body == null) return { kind: "none", text: null };
    if (typeof body === "string") return { kind: "string", text: body };
    if (typeof FormData !== "undefined" && body instanceof FormData) return { kind: "FormData", text: null };
    return { kind: Object.prototype.toString.call(body).slice(8, -1), text: null };
  }

  function hidingAncestor(element) {
    // The nearest element (the element itself included) whose computed display is none, as a short selector.
    for (let node = element; node && node.nodeType === 1; node = node.parentElement || node.getRootNode().host) {
      if (getComputedStyle(node).display === "none") {
        const id = node.id ? `#${node.id}` : "";
        const classes = node.classList.length ? "." + [...node.classList].slice(0, 3).join(".") : "";
        const hidden = node.hasAttribute("hidden") ? "[hidden]" : "";
        const inline = node.style && node.style.display === "none" ? '[style="display: none"]' : "";
        return `<${node.tagName.toLowerCase()}${id}${classes}${hidden}${inline}>`;
      }
    }
    return null;
  }

  function themeOf(options) {
    const theme = options && options.theme;
    if (theme === undefined) return null;
    if (typeof theme === "string") return theme;
    return theme && typeof theme === "object" ? theme.colorScheme ?? "(object without colorScheme)" : String(theme);
  }

  function wrapFetch(pageFetch, apiUrl) {
    return function chatkitFixRecordedFetch(input, init) {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input && input.url;
      probe.fetchCalls.push({
        url: url ? new URL(url, location.href).href : String(apiUrl),
        method: (init && init.method) || "GET",
        headers: describeHeaders(init && init.headers),
        body: describeBody(init && init.body),
        credentials: (init && init.credentials) || null,
        at: performance.now(),
      });
      return pageFetch.apply(this, arguments);
    };
  }

  function patch(elementClass) {
    const proto = elementClass && elementClass.prototype;
    const original = proto && proto.setOptions;
    if (typeof original !== "function" || original.__chatkitFixProbe) return;
    const recorded = function setOptions(options) {
      const api = (options && options.api) || {};
      const box = this.getBoundingClientRect();
      probe.setOptions.push({
        url: typeof api.url === "string" ? new URL(api.url, location.href).href : null,
        hosted: typeof api.getClientSecret === "function",
        customFetch: typeof api.fetch === "function",
        theme: themeOf(options),
        initialThread: (options && options.initialThread) || null,
        rendered: this.getClientRects().length > 0,
        hiddenBy: hidingAncestor(this),
        height: box.height,
        at: performance.now(),
      });
      if (typeof api.fetch === "function") {
        options = { ...options, api: { ...api, fetch: wrapFetch(api.fetch, api.url) } };
      }
      return original.call(this, options);
    };
    recorded.__chatkitFixProbe = true;
    proto.setOptions = recorded;
  }

  const define = customElements.define;
  customElements.define = function (name, elementClass, options) {
    if (name === "openai-chatkit") {
      probe.defined = true;
      patch(elementClass);
    }
    return define.call(this, name, elementClass, options);
  };
})();
