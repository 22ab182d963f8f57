// libFuzzer target: arbitrary bytes as text for a small byte-level BPE tokenizer of every
// pre-tokenizer kind. Encoding never fails; ids are in range; decode(encode(x)) == x; the pieces of
// the pre-tokenizer are non-empty and concatenate to x; the streaming decoder's output concatenates
// to decode(ids); encode_parallel equals encode.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "baimo/tokenizer/bpe_merges.h"
#include "baimo/tokenizer/pretokenizer.h"
#include "baimo/tokenizer/tokenizer.h"

namespace {

constexpr baimo::PreTokenizerKind kKinds[] = {
    baimo::PreTokenizerKind::Gpt2, baimo::PreTokenizerKind::Cl100k, baimo::PreTokenizerKind::Qwen2,
    baimo::PreTokenizerKind::O200k, baimo::PreTokenizerKind::Baimo, baimo::PreTokenizerKind::DeepseekCoder};

// 256 byte tokens in GPT-2 order plus a few merges over ASCII and a Chinese character.
const std::vector<std::unique_ptr<baimo::Tokenizer>>& tokenizers() {
  static std::vector<std::unique_ptr<baimo::Tokenizer>> all = [] {
    std::vector<std::unique_ptr<baimo::Tokenizer>> v;
    for (baimo::PreTokenizerKind k : kKinds) {
      std::vector<std::string> bytes;
      std::vector<uint32_t> id_of(256);
      for (uint8_t b : baimo::gpt2_byte_order()) {
        id_of[b] = uint32_t(bytes.size());
        bytes.push_back(std::string(1, char(b)));
      }
      std::vector<std::pair<uint32_t, uint32_t>> merges;
      auto add = [&](uint32_t l, uint32_t r) {
        merges.emplace_back(l, r);
        bytes.push_back(bytes[l] + bytes[r]);
        return uint32_t(bytes.size() - 1);
      };
      uint32_t th = add(id_of['t'], id_of['h']);
      uint32_t the = add(th, id_of['e']);
      add(id_of[' '], the);
      add(id_of[' '], id_of[' ']);
      uint32_t e4bd = add(id_of[0xe4], id_of[0xbd]);
      add(e4bd, id_of[0xa0]);
      std::vector<baimo::AddedToken> added = {{uint32_t(bytes.size()), "<|endoftext|>", true}};
      v.push_back(std::make_unique<baimo::Tokenizer>(
          baimo::Tokenizer::from_bpe(k, bytes, merges, added, baimo::Normalizer::None, false, "fuzz")));
    }
    return v;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (size_t k = 0; k < std::size(kKinds); ++k) {
    baimo::PreTokenizer pre(kKinds[k]);
    size_t total = 0;
    pre.split(text, [&](std::string_view p) {
      if (p.empty() || p.data() != text.data() + total) std::abort();
      total += p.size();
    });
    if (total != text.size()) std::abort();

    const baimo::Tokenizer& tok = *tokenizers()[k];
    std::vector<uint32_t> ids = tok.encode(text);
    for (uint32_t id : ids)
      if (id >= tok.vocab_size()) std::abort();
    if (tok.decode(ids) != text) std::abort();
    baimo::StreamingDecoder sd(tok);
    std::string streamed;
    for (uint32_t id : ids) streamed += sd.push(id);
    streamed += sd.finish();
    if (streamed != text) std::abort();
    if (tok.encode_parallel(text, baimo::Specials::AsText, 2) != ids) std::abort();
  }
  return 0;
}
