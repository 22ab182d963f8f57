// A small Markdown renderer for the chat page: fenced code blocks (``` with an optional language),
// inline code, headings, bold, italic, links (http/https only), lists, block quotes, paragraphs.
// Safety: every piece of text is HTML-escaped before any markup is added, and link targets are
// restricted to http(s) URLs, so model output can never inject HTML or script; emphasis markers
// inside a URL stay part of the URL (never markup inside an href). An unclosed fence
// (an answer still streaming) renders as a code block up to the end of the text.
(function (root) {
  "use strict";

  function escapeHtml(s) {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }

  // Inline markup of one line of already-split text: code spans first (their content is literal).
  function inline(text) {
    const parts = text.split(/(`[^`\n]+`)/);
    return parts.map(function (part) {
      if (part.length > 2 && part[0] === "`" && part[part.length - 1] === "`") {
        return "<code>" + escapeHtml(part.slice(1, -1)) + "</code>";
      }
      // Links first; emphasis applies to their labels and the text between them, never to a URL.
      const s = escapeHtml(part);
      const link = /\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g;
      let html = "", last = 0, m;
      while ((m = link.exec(s)) !== null) {
        html += emphasis(s.slice(last, m.index)) +
          '<a href="' + m[2] + '" target="_blank" rel="noopener noreferrer">' + emphasis(m[1]) + "</a>";
        last = link.lastIndex;
      }
      return html + emphasis(s.slice(last));
    }).join("");
  }

  // Bold and italic in escaped text without links.
  function emphasis(s) {
    s = s.replace(/\*\*([^*\n]+)\*\*/g, "<strong>$1</strong>");
    return s.replace(/(^|[^*])\*([^*\n]+)\*/g, "$1<em>$2</em>");
  }

  function renderMarkdown(src) {
    const lines = String(src).replace(/\r\n?/g, "\n").split("\n");
    const out = [];
    let para = [];
    let list = null; // {tag: "ul"|"ol", items: []}
    let quote = [];

    function flushPara() {
      if (para.length) out.push("<p>" + para.map(inline).join("<br>") + "</p>");
      para = [];
    }
    function flushList() {
      if (list) out.push("<" + list.tag + ">" + list.items.map(function (i) { return "<li>" + inline(i) + "</li>"; }).join("") + "</" + list.tag + ">");
      list = null;
    }
    function flushQuote() {
      if (quote.length) out.push("<blockquote>" + quote.map(inline).join("<br>") + "</blockquote>");
      quote = [];
    }
    function flushAll() { flushPara(); flushList(); flushQuote(); }

    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const fence = line.match(/^\s*```\s*([\w+#.-]*)\s*$/);
      if (fence) {
        flushAll();
        const lang = fence[1];
        const code = [];
        i++;
        while (i < lines.length && !/^\s*```\s*$/.test(lines[i])) code.push(lines[i++]);
        const cls = lang ? ' class="language-' + escapeHtml(lang) + '"' : "";
        out.push('<pre><code' + cls + ">" + escapeHtml(code.join("\n")) + "</code></pre>");
        continue;
      }
      let m;
      if ((m = line.match(/^(#{1,6})\s+(.*)$/))) {
        flushAll();
        const n = m[1].length;
        out.push("<h" + n + ">" + inline(m[2]) + "</h" + n + ">");
      } else if ((m = line.match(/^\s*[-*+]\s+(.*)$/))) {
        flushPara(); flushQuote();
        if (!list || list.tag !== "ul") { flushList(); list = { tag: "ul", items: [] }; }
        list.items.push(m[1]);
      } else if ((m = line.match(/^\s*\d+[.)]\s+(.*)$/))) {
        flushPara(); flushQuote();
        if (!list || list.tag !== "ol") { flushList(); list = { tag: "ol", items: [] }; }
        list.items.push(m[1]);
      } else if ((m = line.match(/^>\s?(.*)$/))) {
        flushPara(); flushList();
        quote.push(m[1]);
      } else if (/^\s*$/.test(line)) {
        flushAll();
      } else {
        flushList(); flushQuote();
        para.push(line);
      }
    }
    flushAll();
    return out.join("\n");
  }

  root.renderMarkdown = renderMarkdown;
  root.escapeHtml = escapeHtml;
})(typeof window !== "undefined" ? window : globalThis);
