// The one corpus reader: documents from plain text, JSONL and JSON files, for `data prepare` and
// `tokenizer train` alike (the trainer below this module gets them through a callback).
// Contract:
// - expand_inputs: each input is a file or a directory; a directory contributes its regular files
//   with the extensions .txt .text .md .json .jsonl, recursively, sorted by path (byte order), hidden
//   entries (".name") skipped. Missing inputs and directories with no such file are errors.
// - The format comes from the extension: ".jsonl" = one JSON value per line (blank lines skipped),
//   ".json" = one JSON value for the whole file: an array of records (objects, or strings taken as
//   the text) or a single object; anything else = plain text, one document per block of lines
//   separated by blank (white-space only) lines; the block keeps its inner newlines, "\r\n" included.
//   With PlainText::Whole (tokenizer training) a plain-text file is instead handed over unchanged,
//   in pieces of about piece_bytes cut at next_text_cut (plain_text.h), so the pre-tokens equal the
//   whole file's (paragraph breaks are text a tokenizer must learn).
// - A plain-text file that is not text is refused (check_plain_text: NUL bytes, invalid UTF-8).
// - A record's text is the first of `fields` present (dotted paths "a.b.0.c": object keys, array
//   indices): a string, or an array of strings joined with '\n'. Empty text is skipped.
// - Errors (baimo::Error) name the file and the 1-based line: invalid JSON, a record that is not an
//   object, none of the fields present, a field of the wrong type.
// - Documents come in file order; within a file in reading order. Deterministic, single-threaded
//   (the caller tokenizes in parallel).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace baimo {

std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs);

enum class DocumentFormat { Text, Jsonl, Json };
DocumentFormat document_format(const std::string& path);

enum class PlainText { Blocks, Whole };
struct DocumentReadOptions {
  std::vector<std::string> fields = {"text"};  // JSON/JSONL: the first present wins
  PlainText plain_text = PlainText::Blocks;
  size_t piece_bytes = 1u << 20;               // PlainText::Whole
};

// Calls on_document(text) for every non-empty document of the file, in order.
void read_documents(const std::string& path, const DocumentReadOptions& options,
                    const std::function<void(std::string_view text)>& on_document);
void read_documents(const std::string& path, const std::vector<std::string>& fields,
                    const std::function<void(std::string_view text)>& on_document);

// Plain-text blocks of `text` (exposed for tests).
void split_text_blocks(std::string_view text, const std::function<void(std::string_view block)>& on_block);

}  // namespace baimo
