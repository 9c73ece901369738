// The web UI's static files (src/web/assets), embedded into the binary at build time by
// embed_assets.cmake, and what the server needs to send them: content type, ETag, the pages'
// placeholders filled in.
//
//   const Asset* css = FindAsset("app.css");        // nullptr when unknown
//   response.headers.Set("Content-Type", css->content_type);
//   response.headers.Set("ETag", css->etag);
//
// Everything here is built once and read-only afterwards: safe for concurrent use.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace telemeet::web {

// One file as embedded: its name under src/web/assets and its bytes.
struct EmbeddedFile {
  std::string_view name;
  std::string_view content;
};
// Every embedded file (generated into web_assets_embed.cc).
const std::vector<EmbeddedFile>& EmbeddedFiles();

// A file ready to serve.
struct Asset {
  std::string name;
  std::string content_type;  // from the extension; "application/octet-stream" when unknown
  std::string content;
  std::string etag;     // strong, quoted: "\"<22 base64url chars of SHA-256>\""
  std::string version;  // 10 characters of the hash, for cache-busting URLs (?v=)
};

// The content type for a file name by its extension (".html", ".css", ".js", ".svg", ...).
std::string ContentTypeFor(std::string_view name);

// An Asset for `content` named `name` (type, ETag and version computed).
Asset MakeAsset(std::string name, std::string content);

// The embedded file `name` as an Asset, or nullptr.
const Asset* FindAsset(std::string_view name);

// The HTML for a page's "{{name}}" placeholder (text must be escaped first).
struct PageField {
  std::string_view name;
  std::string_view html;
};

// Fills a page's placeholders: "{{asset:app.css}}" becomes "/assets/app.css?v=<version>" (so a
// browser may cache assets for a year: a new build changes the URL), "{{sandbox_banner}}"
// becomes `banner_html`, and "{{name}}" the html of the field of that name. Inserted values are
// not scanned again. An unknown asset name or placeholder is left as is.
std::string RenderPage(std::string_view page, std::string_view banner_html,
                       std::span<const PageField> fields = {});

// True when an If-None-Match header value names `etag` (or is "*").
bool EtagMatches(std::string_view if_none_match, std::string_view etag);

}  // namespace telemeet::web
