// Checks of a request's method and head that cpp-httplib 0.11 does not make, applied before routing
// (api_server.cpp's pre-routing handler). Pure functions over header values, no I/O.
// Contract:
// - body_framing_error(content_lengths, transfer_encodings, max_body): the error for a request
//   whose body length is ambiguous or refused, nullopt when it is fine: a Content-Length that is
//   not a plain decimal number ("-1", "5, 5", "", "0x10") -> 400; several Content-Length fields
//   that disagree -> 400 (equal repeats are one value); Content-Length together with
//   Transfer-Encoding -> 400 (request smuggling); a Transfer-Encoding other than "chunked" -> 400;
//   a Content-Length above max_body -> 413 before any byte of the body is read.
// - bearer_key(authorization): the key of "Bearer KEY", the scheme matched case-insensitively
//   (RFC 9110), spaces or tabs around the key ignored; nullopt for another scheme or no key.
// - allowed_methods(path): the methods a known route takes ("POST" or "GET, HEAD"), "" for an
//   unknown path; a known path with another method is a 405 with this Allow header.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "baimo/serve/api_error.h"

namespace baimo::serve {

std::optional<ApiError> body_framing_error(const std::vector<std::string>& content_lengths,
                                           const std::vector<std::string>& transfer_encodings, size_t max_body);
std::optional<std::string> bearer_key(const std::string& authorization);
std::string allowed_methods(const std::string& path);

}  // namespace baimo::serve
