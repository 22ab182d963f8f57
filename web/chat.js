// The chat page's logic: conversation state, streaming answers from POST /v1/chat/completions
// (fetch + server-sent events parsed by hand), stop (AbortController), new chat, settings kept in
// localStorage, English and Chinese UI text, history trimmed to the context window. Model text is
// rendered by markdown.js (HTML-escaped).
(function () {
  "use strict";
  const TEXT = {
    en: { newChat: "New chat", settings: "Settings", systemPrompt: "System prompt", temperature: "Temperature",
      maxTokens: "Max tokens", apiKey: "API key (if the server needs one)", send: "Send", stop: "Stop",
      placeholder: "Send a message (Enter to send, Shift+Enter for a new line)", thinking: "Generating…",
      stopped: "Stopped.", done: "Done: {n} tokens, {s} s.", error: "Error: ", noModel: "Cannot reach the server: " },
    zh: { newChat: "新对话", settings: "设置", systemPrompt: "系统提示词", temperature: "温度",
      maxTokens: "最多生成的词元数", apiKey: "API 密钥（服务器要求时填写）", send: "发送", stop: "停止",
      placeholder: "输入消息（回车发送，Shift+回车换行）", thinking: "正在生成…",
      stopped: "已停止。", done: "完成：{n} 个词元，{s} 秒。", error: "错误：", noModel: "无法连接服务器：" },
  };
  const $ = (id) => document.getElementById(id);
  const els = { messages: $("messages"), input: $("input"), send: $("send"), stop: $("stop"), status: $("status"),
    system: $("system-prompt"), temperature: $("temperature"), temperatureValue: $("temperature-value"),
    maxTokens: $("max-tokens"), apiKey: $("api-key"), lang: $("lang"), settings: $("settings"), model: $("model-name") };
  let history = [];      // {role, content} of the conversation so far
  let controller = null; // AbortController of the answer being streamed
  let model = null;
  let lang = localStorage.getItem("baimo.lang") || ((navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en");

  function t(key, vars) {
    let s = (TEXT[lang] || TEXT.en)[key] || TEXT.en[key] || key;
    for (const k in vars || {}) s = s.replace("{" + k + "}", vars[k]);
    return s;
  }
  function applyLanguage() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    els.lang.value = lang;
    document.querySelectorAll("[data-i18n]").forEach((e) => { e.textContent = t(e.dataset.i18n); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((e) => { e.placeholder = t(e.dataset.i18nPlaceholder); });
  }
  function loadSettings() {
    els.system.value = localStorage.getItem("baimo.system") || "";
    els.temperature.value = localStorage.getItem("baimo.temperature") || "0.7";
    els.maxTokens.value = localStorage.getItem("baimo.maxTokens") || "512";
    els.apiKey.value = localStorage.getItem("baimo.apiKey") || "";
    els.temperatureValue.textContent = els.temperature.value;
  }
  function saveSettings() {
    localStorage.setItem("baimo.system", els.system.value);
    localStorage.setItem("baimo.temperature", els.temperature.value);
    localStorage.setItem("baimo.maxTokens", els.maxTokens.value);
    localStorage.setItem("baimo.apiKey", els.apiKey.value);
    els.temperatureValue.textContent = els.temperature.value;
  }
  function headers() {
    const h = { "Content-Type": "application/json" };
    if (els.apiKey.value) h.Authorization = "Bearer " + els.apiKey.value;
    return h;
  }
  function addMessage(role, text) {
    const div = document.createElement("div");
    div.className = "msg " + role;
    if (role === "assistant") div.innerHTML = window.renderMarkdown(text);
    else div.textContent = text;
    els.messages.appendChild(div);
    els.messages.scrollTop = els.messages.scrollHeight;
    return div;
  }
  function setBusy(busy) {
    els.send.disabled = busy;
    els.stop.disabled = !busy;
  }

  async function fetchModel() {
    try {
      const r = await fetch("/v1/models", { headers: headers() });
      const j = await r.json();
      if (!r.ok) throw new Error(j.error ? j.error.message : r.status);
      model = j.data[0].id;
      els.model.textContent = model;
    } catch (e) {
      els.status.textContent = t("noModel") + e.message;
    }
  }

  // Reads an SSE body: calls onEvent(json) for each "data:" event until "[DONE]".
  async function readEvents(body, onEvent) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = event.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
        if (!data) continue; // a keep-alive comment
        if (data === "[DONE]") return;
        onEvent(JSON.parse(data));
      }
    }
  }

  async function send(text) {
    if (!model) await fetchModel();
    if (!model) return;
    history.push({ role: "user", content: text });
    addMessage("user", text);
    const bubble = addMessage("assistant", "");
    let answer = "";
    let tokens = 0;
    const started = performance.now();
    // The answer is rendered at most once per frame: rendering the whole Markdown on every token
    // costs time quadratic in the answer's length and froze the page on long answers.
    let renderPending = false;
    const render = () => {
      renderPending = false;
      bubble.innerHTML = window.renderMarkdown(answer);
      els.messages.scrollTop = els.messages.scrollHeight;
    };
    const scheduleRender = () => {
      if (!renderPending) { renderPending = true; requestAnimationFrame(() => { if (renderPending) render(); }); }
    };
    controller = new AbortController();
    setBusy(true);
    els.status.textContent = t("thinking");
    try {
      let r;
      // The conversation keeps within the context window: when the server says it is too long,
      // the oldest turns are left out (the system prompt and the new message stay).
      for (let skip = 0; ; skip++) {
        const turns = history.slice(Math.min(skip, history.length - 1));
        const messages = (els.system.value.trim() ? [{ role: "system", content: els.system.value.trim() }] : []).concat(turns);
        r = await fetch("/v1/chat/completions", {
          method: "POST", headers: headers(), signal: controller.signal,
          body: JSON.stringify({ model, messages, stream: true, temperature: parseFloat(els.temperature.value),
            max_tokens: parseInt(els.maxTokens.value, 10) || undefined, stream_options: { include_usage: true } }),
        });
        if (r.ok) break;
        const j = await r.json().catch(() => ({}));
        const tooLong = j.error && j.error.code === "context_length_exceeded";
        if (!tooLong || turns.length <= 1) throw new Error(j.error ? j.error.message : "HTTP " + r.status);
      }
      await readEvents(r.body, (chunk) => {
        if (chunk.error) throw new Error(chunk.error.message);
        if (chunk.usage) tokens = chunk.usage.completion_tokens;
        const choice = chunk.choices && chunk.choices[0];
        if (choice && choice.delta && choice.delta.content) {
          answer += choice.delta.content;
          scheduleRender();
        }
      });
      if (renderPending) render();
      els.status.textContent = t("done", { n: tokens, s: ((performance.now() - started) / 1000).toFixed(1) });
    } catch (e) {
      if (renderPending) render();
      if (e.name === "AbortError") {
        bubble.classList.add("stopped");
        els.status.textContent = t("stopped");
      } else {
        bubble.classList.add("error");
        bubble.textContent = t("error") + e.message;
        els.status.textContent = "";
      }
    } finally {
      if (answer) history.push({ role: "assistant", content: answer });
      controller = null;
      setBusy(false);
    }
  }

  els.input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); $("composer").requestSubmit(); }
  });
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = els.input.value.trim();
    if (!text || controller) return;
    els.input.value = "";
    send(text);
  });
  els.stop.addEventListener("click", () => { if (controller) controller.abort(); });
  $("new-chat").addEventListener("click", () => {
    if (controller) controller.abort();
    history = [];
    els.messages.textContent = "";
    els.status.textContent = "";
    els.input.focus();
  });
  $("toggle-settings").addEventListener("click", () => { els.settings.hidden = !els.settings.hidden; });
  [els.system, els.temperature, els.maxTokens, els.apiKey].forEach((e) => e.addEventListener("input", saveSettings));
  els.apiKey.addEventListener("change", fetchModel);
  els.lang.addEventListener("change", () => { lang = els.lang.value; localStorage.setItem("baimo.lang", lang); applyLanguage(); });

  loadSettings();
  applyLanguage();
  fetchModel();
})();
