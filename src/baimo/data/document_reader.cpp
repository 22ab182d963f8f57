#include "baimo/data/document_reader.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "baimo/data/plain_text.h"
#include "baimo/util/error.h"
#include "baimo/util/file_io.h"

namespace baimo {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

bool has_document_extension(const fs::path& p) {
  static const char* kExt[] = {".txt", ".text", ".md", ".json", ".jsonl"};
  std::string e = p.extension().string();
  return std::any_of(std::begin(kExt), std::end(kExt), [&](const char* x) { return e == x; });
}

bool blank_line(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; });
}

// 1-based line of byte `offset`.
size_t line_of(std::string_view text, size_t offset) {
  return 1 + std::count(text.begin(), text.begin() + std::min(offset, text.size()), '\n');
}

// Byte offset where element k of the top-level array starts (text is valid JSON); text.size() if none.
size_t array_element_offset(std::string_view text, size_t k) {
  int depth = 0;
  size_t element = 0;
  bool expect_element = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (depth == 1 && expect_element) {
      if (element == k) return i;
      expect_element = false;
    }
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;
    } else if (c == '[' || c == '{') {
      if (++depth == 1) expect_element = true;
    } else if (c == ']' || c == '}') {
      --depth;
    } else if (c == ',' && depth == 1) {
      ++element;
      expect_element = true;
    }
  }
  return text.size();
}

struct FieldPaths {
  std::vector<std::string> names;               // as given, for messages
  std::vector<std::vector<std::string>> parts;  // split at '.'
  explicit FieldPaths(const std::vector<std::string>& fields) : names(fields) {
    if (fields.empty()) fail("no --field given for JSON input");
    for (auto& f : fields) {
      std::vector<std::string> p;
      size_t start = 0;
      while (true) {
        size_t dot = f.find('.', start);
        p.push_back(f.substr(start, dot - start));
        if (dot == std::string::npos) break;
        start = dot + 1;
      }
      if (std::any_of(p.begin(), p.end(), [](auto& s) { return s.empty(); }))
        fail("field path \"{}\" has an empty component", f);
      parts.push_back(std::move(p));
    }
  }
};

const json* walk(const json& rec, const std::vector<std::string>& path) {
  const json* cur = &rec;
  for (auto& key : path) {
    if (cur->is_object()) {
      auto it = cur->find(key);
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else if (cur->is_array() && std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      size_t i = std::stoull(key.substr(0, 18));
      if (i >= cur->size()) return nullptr;
      cur = &(*cur)[i];
    } else {
      return nullptr;
    }
  }
  return cur->is_null() ? nullptr : cur;
}

// The text of one record; `where` gives "file:line" for messages (computed only on error).
std::string record_text(const json& rec, const FieldPaths& fields, const std::function<std::string()>& where) {
  if (rec.is_string()) return rec.get<std::string>();
  if (!rec.is_object()) fail("{}: expected a JSON object (or a string), got {}", where(), rec.type_name());
  for (size_t f = 0; f < fields.parts.size(); ++f) {
    const json* v = walk(rec, fields.parts[f]);
    if (!v) continue;
    if (v->is_string()) return v->get<std::string>();
    if (v->is_array()) {
      std::string out;
      for (size_t i = 0; i < v->size(); ++i) {
        if (!(*v)[i].is_string())
          fail("{}: field \"{}\" element {} is {}, expected a string", where(), fields.names[f], i, (*v)[i].type_name());
        if (i) out += '\n';
        out += (*v)[i].get_ref<const std::string&>();
      }
      return out;
    }
    fail("{}: field \"{}\" is {}, expected a string or an array of strings", where(), fields.names[f], v->type_name());
  }
  if (fields.names.size() == 1) fail("{}: field \"{}\" is missing", where(), fields.names[0]);
  std::string list;
  for (auto& n : fields.names) list += fmt::format("{}\"{}\"", list.empty() ? "" : ", ", n);
  fail("{}: none of the fields {} is present", where(), list);
}

json parse_json(std::string_view text, const std::function<std::string()>& where) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for numbers like 9e999
    fail("{}: invalid JSON: {}", where(), e.what());
  }
}

void read_jsonl(const std::string& path, std::string_view text, const FieldPaths& fields,
                const std::function<void(std::string_view)>& on_document) {
  size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (blank_line(line)) continue;
    auto where = [&] { return fmt::format("{}:{}", path, line_no); };
    std::string doc = record_text(parse_json(line, where), fields, where);
    if (!doc.empty()) on_document(doc);
  }
}

void read_json(const std::string& path, std::string_view text, const FieldPaths& fields,
               const std::function<void(std::string_view)>& on_document) {
  json whole = parse_json(text, [&] { return path; });
  if (whole.is_object()) {
    std::string doc = record_text(whole, fields, [&] { return fmt::format("{}:{}", path, 1); });
    if (!doc.empty()) on_document(doc);
    return;
  }
  if (!whole.is_array()) fail("{}: expected a JSON array of records or one object, got {}", path, whole.type_name());
  for (size_t k = 0; k < whole.size(); ++k) {
    auto where = [&] { return fmt::format("{}:{} (record {})", path, line_of(text, array_element_offset(text, k)), k); };
    std::string doc = record_text(whole[k], fields, where);
    if (!doc.empty()) on_document(doc);
  }
}

}  // namespace

std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> out;
  for (auto& in : inputs) {
    std::error_code ec;
    auto st = fs::status(in, ec);
    if (ec || !fs::exists(st)) fail("{}: no such file or directory", in);
    if (!fs::is_directory(st)) {
      out.push_back(in);
      continue;
    }
    std::vector<std::string> found;
    auto it = fs::recursive_directory_iterator(in, fs::directory_options::follow_directory_symlink, ec);
    if (ec) fail("{}: cannot list directory: {}", in, ec.message());
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) fail("{}: cannot list directory: {}", in, ec.message());
      const fs::path& p = it->path();
      if (p.filename().string().starts_with(".")) {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file() && has_document_extension(p)) found.push_back(p.string());
    }
    if (found.empty()) fail("{}: no .txt, .text, .md, .json or .jsonl files in this directory", in);
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

DocumentFormat document_format(const std::string& path) {
  std::string e = fs::path(path).extension().string();
  if (e == ".jsonl") return DocumentFormat::Jsonl;
  if (e == ".json") return DocumentFormat::Json;
  return DocumentFormat::Text;
}

void split_text_blocks(std::string_view text, const std::function<void(std::string_view)>& on_block) {
  size_t pos = 0, block_start = std::string_view::npos, block_end = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl;
    if (blank_line(text.substr(pos, end - pos))) {
      if (block_start != std::string_view::npos) on_block(text.substr(block_start, block_end - block_start));
      block_start = std::string_view::npos;
    } else {
      if (block_start == std::string_view::npos) block_start = pos;
      block_end = end;  // the block ends before its last line's '\n'
    }
    pos = end + 1;
  }
  if (block_start != std::string_view::npos) on_block(text.substr(block_start, block_end - block_start));
}

void read_documents(const std::string& path, const std::vector<std::string>& fields,
                    const std::function<void(std::string_view)>& on_document) {
  DocumentReadOptions o;
  o.fields = fields;
  read_documents(path, o, on_document);
}

void read_documents(const std::string& path, const DocumentReadOptions& o,
                    const std::function<void(std::string_view)>& on_document) {
  MappedFile file(path);
  const std::vector<std::string>& fields = o.fields;
  switch (document_format(path)) {
    case DocumentFormat::Text: {
      const std::string_view all = file.view();
      check_plain_text(path, all);
      if (o.plain_text == PlainText::Whole) {
        const size_t piece = std::max<size_t>(o.piece_bytes, 1);
        for (size_t b = 0; b < all.size();) {
          size_t e = next_text_cut(all, std::min(all.size(), b + piece));
          if (e <= b) e = all.size();
          on_document(all.substr(b, e - b));
          b = e;
        }
        break;
      }
      // A block's last line may end in '\r' (CRLF files): keep the text as written but drop it.
      split_text_blocks(file.view(), [&](std::string_view b) {
        if (!b.empty() && b.back() == '\r') b.remove_suffix(1);
        on_document(b);
      });
      break;
    }
    case DocumentFormat::Jsonl: read_jsonl(path, file.view(), FieldPaths(fields), on_document); break;
    case DocumentFormat::Json: read_json(path, file.view(), FieldPaths(fields), on_document); break;
  }
}

}  // namespace baimo
