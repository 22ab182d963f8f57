// libFuzzer target: arbitrary bytes as a model's answer, parsed for tool calls whole and streamed
// (split into pieces at sizes drawn from the first byte) in both formats. Never crash; the streamed
// parse finds the calls the whole parse finds (same names and arguments, in order), and when it finds
// none, the streamed content is the answer itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "baimo/serve/tool_calls.h"

using baimo::serve::ToolCallFormat;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = 1 + data[0] % 13;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (ToolCallFormat f : {ToolCallFormat::Hermes, ToolCallFormat::LlamaJson}) {
    const auto whole = baimo::serve::parse_tool_calls(f, text);
    baimo::serve::ToolCallStream s(f);
    std::string content;
    std::vector<baimo::serve::ParsedToolCall> calls;
    auto take = [&](baimo::serve::ToolCallStream::Out o) {
      content += o.content;
      for (auto& c : o.calls) calls.push_back(std::move(c));
    };
    for (size_t i = 0; i < text.size(); i += step) take(s.feed(std::string_view(text).substr(i, step)));
    take(s.finish());
    if (calls.size() != whole.calls.size()) std::abort();
    for (size_t k = 0; k < calls.size(); ++k)
      if (calls[k].name != whole.calls[k].name || calls[k].arguments != whole.calls[k].arguments) std::abort();
    if (calls.empty() && content != text) std::abort();
  }
  return 0;
}
