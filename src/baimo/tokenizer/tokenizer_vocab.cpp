// Tokenizer: construction from a BPE vocabulary, decoding, streaming decoder, accessors.
#include "baimo/tokenizer/tokenizer_impl.h"
#include "baimo/util/error.h"

namespace baimo {

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_bpe(PreTokenizerKind kind, std::vector<std::string> token_bytes,
                              const std::vector<std::pair<uint32_t, uint32_t>>& merges,
                              std::vector<AddedToken> added, Normalizer normalizer, bool whole_piece_lookup,
                              const std::string& name) {
  auto m = std::make_unique<Impl>();
  m->name = name;
  m->kind = kind;
  m->normalizer = normalizer;
  m->whole_piece_lookup = whole_piece_lookup;
  m->tokens = std::move(token_bytes);
  m->flags.assign(m->tokens.size(), kNormal);
  for (size_t i = 0; i < m->tokens.size(); ++i)
    if (m->tokens[i].empty()) m->flags[i] = kUnused;  // a gap: the id has no token
  m->added = std::move(added);
  m->merge_list = merges;
  m->finalize(false);
  return Tokenizer(std::move(m));
}

std::string Tokenizer::decode(std::span<const uint32_t> ids) const {
  std::string out;
  for (uint32_t id : ids) decode_append(id, out);
  return out;
}

void Tokenizer::decode_append(uint32_t id, std::string& out) const {
  if (id >= impl_->tokens.size())
    fail("{}: token id {} is out of range (vocabulary size {})", impl_->name, id, impl_->tokens.size());
  out += impl_->tokens[id];
}

size_t Tokenizer::vocab_size() const { return impl_->tokens.size(); }
std::string_view Tokenizer::token_bytes(uint32_t id) const {
  return id < impl_->tokens.size() ? std::string_view(impl_->tokens[id]) : std::string_view();
}
std::string Tokenizer::id_to_token(uint32_t id) const {
  if (id >= impl_->tokens.size() || impl_->flags[id] == kUnused) return "";
  if (impl_->flags[id] & kAdded) return impl_->tokens[id];
  return byte_level::bytes_to_unicode(impl_->tokens[id]);
}
std::optional<uint32_t> Tokenizer::token_to_id(std::string_view bytes) const {
  uint32_t id = impl_->token_ids.find(bytes);
  if (id != TokenIndex::kMissing) return id;
  for (const AddedToken& a : impl_->added)
    if (a.content == bytes) return a.id;
  return std::nullopt;
}
bool Tokenizer::is_added(uint32_t id) const { return id < impl_->flags.size() && (impl_->flags[id] & kAdded); }
bool Tokenizer::is_special(uint32_t id) const {
  return id < impl_->flags.size() && (impl_->flags[id] & kSpecialFlag);
}
const std::vector<AddedToken>& Tokenizer::added_tokens() const { return impl_->added; }
std::optional<uint32_t> Tokenizer::bos_id() const { return impl_->bos; }
std::optional<uint32_t> Tokenizer::eos_id() const { return impl_->eos; }
void Tokenizer::set_bos_id(std::optional<uint32_t> id) {
  if (id && *id >= vocab_size()) fail("{}: bos id {} is out of range", impl_->name, *id);
  impl_->bos = id;
}
void Tokenizer::set_eos_id(std::optional<uint32_t> id) {
  if (id && *id >= vocab_size()) fail("{}: eos id {} is out of range", impl_->name, *id);
  impl_->eos = id;
}
bool Tokenizer::add_bos() const { return impl_->add_bos; }
void Tokenizer::set_add_bos(bool add) { impl_->add_bos = add; }
PreTokenizerKind Tokenizer::pretokenizer_kind() const { return impl_->kind; }
Normalizer Tokenizer::normalizer() const { return impl_->normalizer; }
size_t Tokenizer::merge_count() const {
  return impl_->merge_list.empty() ? impl_->pairs.size() : impl_->merge_list.size();
}

namespace {
// Length of the incomplete UTF-8 character at the end of s (0 if s ends on a complete character
// or on bytes that can never become valid).
size_t incomplete_tail(std::string_view s) {
  size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    auto b = static_cast<unsigned char>(s[n - back]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 && b < 0xF0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 0;
    if (need <= back) return 0;  // ASCII, invalid lead, or complete
    if (back >= 2) {             // the second byte's range depends on the lead
      auto b1 = static_cast<unsigned char>(s[n - back + 1]);
      if ((b == 0xE0 && b1 < 0xA0) || (b == 0xED && b1 >= 0xA0) || (b == 0xF0 && b1 < 0x90) ||
          (b == 0xF4 && b1 >= 0x90))
        return 0;
    }
    return back;
  }
  return 0;
}
}  // namespace

std::string StreamingDecoder::push(uint32_t id) {
  tok_->decode_append(id, pending_);
  size_t hold = incomplete_tail(pending_);
  std::string out = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string StreamingDecoder::finish() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace baimo
