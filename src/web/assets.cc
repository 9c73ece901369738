#include "web/assets.h"

#include <algorithm>
#include <map>

#include "base/strings.h"
#include "crypto/encoding.h"
#include "crypto/hash.h"

namespace telemeet::web {

namespace {

const std::map<std::string, Asset, std::less<>>& Assets() {
  static const auto* assets = [] {
    auto* m = new std::map<std::string, Asset, std::less<>>();
    for (const EmbeddedFile& f : EmbeddedFiles()) {
      m->emplace(std::string(f.name), MakeAsset(std::string(f.name), std::string(f.content)));
    }
    return m;
  }();
  return *assets;
}

}  // namespace

std::string ContentTypeFor(std::string_view name) {
  auto ends = [&](std::string_view ext) { return name.ends_with(ext); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".json")) return "application/json";
  if (ends(".png")) return "image/png";
  if (ends(".ico")) return "image/x-icon";
  if (ends(".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

Asset MakeAsset(std::string name, std::string content) {
  std::string hash = crypto::Base64UrlEncode(crypto::Sha256(content));
  Asset a;
  a.content_type = ContentTypeFor(name);
  a.name = std::move(name);
  a.content = std::move(content);
  a.etag = "\"" + hash.substr(0, 22) + "\"";
  a.version = hash.substr(0, 10);
  return a;
}

const Asset* FindAsset(std::string_view name) {
  const auto& assets = Assets();
  auto it = assets.find(name);
  return it == assets.end() ? nullptr : &it->second;
}

std::string RenderPage(std::string_view page, std::string_view banner_html,
                       std::span<const PageField> fields) {
  constexpr std::string_view kOpen = "{{";
  constexpr std::string_view kClose = "}}";
  constexpr std::string_view kAsset = "asset:";
  std::string out;
  out.reserve(page.size() + banner_html.size());
  size_t pos = 0;
  while (true) {
    size_t open = page.find(kOpen, pos);
    size_t close = open == std::string_view::npos ? open : page.find(kClose, open);
    if (close == std::string_view::npos) break;
    out.append(page.substr(pos, open - pos));
    std::string_view key = page.substr(open + kOpen.size(), close - open - kOpen.size());
    const Asset* asset = nullptr;
    auto field = std::ranges::find(fields, key, &PageField::name);
    if (key == "sandbox_banner") {
      out.append(banner_html);
    } else if (field != fields.end()) {
      out.append(field->html);
    } else if (key.starts_with(kAsset) &&
               (asset = FindAsset(key.substr(kAsset.size()))) != nullptr) {
      out.append("/assets/" + asset->name + "?v=" + asset->version);
    } else {
      out.append(page.substr(open, close + kClose.size() - open));
    }
    pos = close + kClose.size();
  }
  out.append(page.substr(pos));
  return out;
}

bool EtagMatches(std::string_view if_none_match, std::string_view etag) {
  for (std::string_view part : Split(if_none_match, ',')) {
    part = Trim(part);
    if (part.starts_with("W/")) part.remove_prefix(2);
    if (part == "*" || part == etag) return true;
  }
  return false;
}

}  // namespace telemeet::web
