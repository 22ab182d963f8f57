// The files are pulled in by the assembler's .incbin at compile time (CMakeLists.txt makes this
// object depend on web/*, so an edited page rebuilds it).
#include "baimo/serve/web_assets.h"

#include <array>

#define BAIMO_EMBED(sym, file)                                                            \
  __asm__(".section .rodata\n.balign 16\n.global " #sym "_begin\n" #sym "_begin:\n"       \
          ".incbin \"" BAIMO_SOURCE_DIR "/web/" file "\"\n.global " #sym "_end\n" #sym \
          "_end:\n.byte 0\n.previous\n");                                                 \
  extern "C" const char sym##_begin[], sym##_end[];

BAIMO_EMBED(baimo_web_index_html, "index.html")
BAIMO_EMBED(baimo_web_chat_js, "chat.js")
BAIMO_EMBED(baimo_web_markdown_js, "markdown.js")
BAIMO_EMBED(baimo_web_style_css, "style.css")

namespace baimo::serve {
namespace {

std::string_view span(const char* begin, const char* end) {
  return std::string_view(begin, static_cast<size_t>(end - begin));
}

}  // namespace

const WebAsset* find_web_asset(std::string_view path) {
  static const std::array<WebAsset, 4> assets = {{
      {"/index.html", "text/html; charset=utf-8", span(baimo_web_index_html_begin, baimo_web_index_html_end)},
      {"/chat.js", "text/javascript; charset=utf-8", span(baimo_web_chat_js_begin, baimo_web_chat_js_end)},
      {"/markdown.js", "text/javascript; charset=utf-8", span(baimo_web_markdown_js_begin, baimo_web_markdown_js_end)},
      {"/style.css", "text/css; charset=utf-8", span(baimo_web_style_css_begin, baimo_web_style_css_end)},
  }};
  if (path == "/" || path.empty()) path = "/index.html";
  for (const auto& a : assets)
    if (a.path == path) return &a;
  return nullptr;
}

}  // namespace baimo::serve
