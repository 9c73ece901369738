#include "emulator/meet/meet_service.h"

#include <algorithm>
#include <set>

#include "base/strings.h"
#include "crypto/encoding.h"
#include "emulator/calendar/event_time.h"
#include "emulator/google_error.h"
#include "emulator/meet/meet_filter.h"
#include "emulator/meet/meet_internal.h"
#include "net/json.h"

namespace telemeet::emulator {

using net::Request;
using net::Response;
using nlohmann::json;

namespace meet_internal {

Instant Participant::EarliestStart() const {
  Instant t = sessions.front().start;
  for (const auto& s : sessions) t = std::min(t, s.start);
  return t;
}

std::optional<Instant> Participant::LatestEnd() const {
  std::optional<Instant> t;
  for (const auto& s : sessions) {
    if (!s.end) return std::nullopt;
    if (!t || *s.end > *t) t = s.end;
  }
  return t;
}

std::string FormatTimestamp(Instant t) {
  auto micros = t.time_since_epoch().count() % 1'000'000;
  if (micros < 0) micros += 1'000'000;
  std::string s = FormatRfc3339(t - std::chrono::microseconds(micros));  // "...:SSZ"
  if (micros == 0) return s;
  char frac[8];
  if (micros % 1000 == 0) {
    std::snprintf(frac, sizeof frac, ".%03d", int(micros / 1000));
  } else {
    std::snprintf(frac, sizeof frac, ".%06d", int(micros));
  }
  s.insert(s.size() - 1, frac);
  return s;
}

bool ValidAccessType(std::string_view v) {
  return v == "OPEN" || v == "TRUSTED" || v == "RESTRICTED";
}
bool ValidEntryPointAccess(std::string_view v) { return v == "ALL" || v == "CREATOR_APP_ONLY"; }

namespace {

Response Invalid(std::string message) { return RpcError(400, message); }
Response NotFound() { return RpcError(404, "Requested entity was not found."); }
Response Denied() { return RpcError(403, "The caller does not have permission"); }

std::string RequiredScopes(Access access) {
  std::string created(kScopeMeetCreated), readonly(kScopeMeetReadonly),
      settings(kScopeMeetSettings);
  switch (access) {
    case Access::kSpaceRead:
      return created + " " + readonly + " " + settings;
    case Access::kSpaceWrite:
      return created + " " + settings;
    case Access::kSpaceCreate:
      return created;
    case Access::kRecordsRead:
      return created + " " + readonly;
  }
  return {};
}

bool HasAnyScope(const Principal& p, Access access) {
  switch (access) {
    case Access::kSpaceRead:
      return p.HasScope(kScopeMeetCreated) || p.HasScope(kScopeMeetReadonly) ||
             p.HasScope(kScopeMeetSettings);
    case Access::kSpaceWrite:
      return p.HasScope(kScopeMeetCreated) || p.HasScope(kScopeMeetSettings);
    case Access::kSpaceCreate:
      return p.HasScope(kScopeMeetCreated);
    case Access::kRecordsRead:
      return p.HasScope(kScopeMeetCreated) || p.HasScope(kScopeMeetReadonly);
  }
  return false;
}

Response Unauthenticated() {
  Response r = RpcError(401,
                        "Request had invalid authentication credentials. Expected OAuth 2 access "
                        "token, login cookie or other valid authentication credential. See "
                        "https://developers.google.com/identity/sign-in/web/devconsole-project.");
  r.headers.Set("WWW-Authenticate", "Bearer realm=\"https://accounts.google.com/\"");
  return r;
}

Response InsufficientScope(Access access, std::string_view method) {
  json details = json::array(
      {{{"@type", "type.googleapis.com/google.rpc.ErrorInfo"},
        {"reason", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"},
        {"domain", "googleapis.com"},
        {"metadata", {{"service", "meet.googleapis.com"}, {"method", std::string(method)}}}}});
  Response r = RpcError(403, "Request had insufficient authentication scopes.", details);
  r.headers.Set("WWW-Authenticate",
                "Bearer realm=\"https://accounts.google.com/\", error=\"insufficient_scope\", "
                "scope=\"" +
                    RequiredScopes(access) + "\"");
  return r;
}

std::optional<std::string> BearerToken(const Request& req) {
  if (auto h = req.Header("Authorization")) {
    std::string_view v = Trim(*h);
    if (v.size() > 7 && EqualsIgnoreCase(v.substr(0, 7), "Bearer ")) {
      return std::string(Trim(v.substr(7)));
    }
    return std::nullopt;
  }
  return req.Query("access_token");
}

// Query parameters every Google API takes besides its own (system parameters); ignored here.
const std::set<std::string, std::less<>> kSystemParams = {
    "fields",       "alt",      "prettyPrint",     "key",        "$.xgafv",    "quotaUser",
    "access_token", "callback", "upload_protocol", "uploadType", "oauth_token"};

// The query parameters, refusing ones the method does not know, as Google's JSON transcoding
// does ("Cannot bind query parameter").
std::expected<KeyValues, Response> Params(const Request& req,
                                          std::initializer_list<std::string_view> known) {
  auto q = req.QueryParams();
  if (!q) return std::unexpected(Invalid("Invalid query string."));
  for (const auto& [k, v] : *q) {
    if (kSystemParams.contains(k) || std::find(known.begin(), known.end(), k) != known.end()) {
      continue;
    }
    return std::unexpected(Invalid("Invalid JSON payload received. Unknown name \"" + k +
                                   "\": Cannot bind query parameter. Field '" + k +
                                   "' could not be found in request message."));
  }
  return std::move(*q);
}

// One page of a list: the page size asked for (default and maximum per method, larger values
// are coerced down as Google does) and where the previous page stopped. Items are ordered by
// a time descending, then by id descending; the token carries the last item's (time, id) and
// what it was issued for (method, parent, filter), so it survives inserts between pages.
struct Page {
  size_t size = 0;
  std::optional<std::pair<int64_t, std::string>> after;
  std::string scope;
};

std::expected<Page, Response> ParsePage(const KeyValues& q, size_t default_size, size_t max_size,
                                        std::string scope, uint64_t generation) {
  Page page{.size = default_size, .after = std::nullopt, .scope = std::move(scope)};
  if (auto v = FindValue(q, "pageSize"); v && !v->empty()) {
    int64_t n = 0;
    bool ok = v->size() < 11;
    size_t i = (*v)[0] == '-' ? 1 : 0;
    ok = ok && i < v->size();
    for (; ok && i < v->size(); ++i) {
      ok = std::isdigit(static_cast<unsigned char>((*v)[i]));
      n = n * 10 + ((*v)[i] - '0');
    }
    if (!ok) {
      return std::unexpected(Invalid("Invalid value at 'page_size' (TYPE_INT32), \"" + *v + "\""));
    }
    if ((*v)[0] == '-') return std::unexpected(Invalid("page_size must not be negative."));
    if (n > 0) page.size = std::min<size_t>(size_t(n), max_size);
  }
  if (auto t = FindValue(q, "pageToken"); t && !t->empty()) {
    auto raw = crypto::Base64UrlDecode(*t);
    std::optional<json> j;
    if (raw) {
      auto parsed = net::ParseJson(*raw);
      if (parsed && parsed->is_object()) j = *parsed;
    }
    if (!j || !(*j)["g"].is_number_unsigned() || !(*j)["s"].is_string() ||
        !(*j)["t"].is_number_integer() || !(*j)["i"].is_string()) {
      return std::unexpected(Invalid("Invalid page token."));
    }
    if ((*j)["g"].get<uint64_t>() != generation || (*j)["s"] != page.scope) {
      return std::unexpected(Invalid("The page token does not match the request."));
    }
    page.after = std::pair{(*j)["t"].get<int64_t>(), (*j)["i"].get<std::string>()};
  }
  return page;
}

// Items of one page: `all` sorted by key descending (time, then id), after the page's cursor.
template <typename T>
struct Keyed {
  int64_t time;
  std::string id;
  T item;
};

template <typename T>
std::pair<std::vector<T>, std::string> TakePage(std::vector<Keyed<T>> all, const Page& page,
                                                uint64_t generation) {
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a.time != b.time ? a.time > b.time : a.id > b.id;
  });
  std::vector<T> out;
  std::string next;
  size_t i = 0;
  if (page.after) {
    const auto& [t, id] = *page.after;
    while (i < all.size() && (all[i].time > t || (all[i].time == t && all[i].id >= id))) ++i;
  }
  for (; i < all.size() && out.size() < page.size; ++i) out.push_back(all[i].item);
  if (i < all.size() && !out.empty()) {
    const auto& last = all[i - 1];
    json token = {{"g", generation}, {"s", page.scope}, {"t", last.time}, {"i", last.id}};
    next = crypto::Base64UrlEncode(net::DumpJson(token));
  }
  return {std::move(out), std::move(next)};
}

int64_t Micros(Instant t) { return t.time_since_epoch().count(); }

FilterValue TimeValue(const std::optional<Instant>& t) {
  if (!t) return std::monostate{};
  return *t;
}

}  // namespace
}  // namespace meet_internal

using namespace meet_internal;

// --- State: lookups and rendering ---------------------------------------------------------

MeetService::State::Space* MeetService::State::FindSpace(std::string_view id_or_code) {
  return const_cast<Space*>(std::as_const(*this).FindSpace(id_or_code));
}

const MeetService::State::Space* MeetService::State::FindSpace(std::string_view id_or_code) const {
  if (auto it = spaces.find(id_or_code); it != spaces.end()) return &it->second;
  if (auto c = codes.find(ToLower(id_or_code)); c != codes.end()) {
    if (auto it = spaces.find(c->second); it != spaces.end()) return &it->second;
  }
  return nullptr;
}

std::string MeetService::State::NewId(std::string_view alphabet, size_t length) {
  std::string s;
  for (size_t i = 0; i < length; ++i) s.push_back(alphabet[rng() % alphabet.size()]);
  return s;
}

std::string MeetService::State::NewMeetingCode() {
  constexpr std::string_view kLetters = "abcdefghijklmnopqrstuvwxyz";
  std::string code;
  do {
    code = NewId(kLetters, 3) + "-" + NewId(kLetters, 4) + "-" + NewId(kLetters, 3);
  } while (codes.contains(code));
  return code;
}

MeetService::State::Space& MeetService::State::AddSpace(std::string owner_email, std::string code,
                                                        std::string creator_client) {
  std::string id;
  do {
    id = NewId(kIdChars, 12);
  } while (spaces.contains(id));
  codes[ToLower(code)] = id;
  Space& s = spaces[id];
  s.id = id;
  s.code = std::move(code);
  s.owner_email = std::move(owner_email);
  s.creator_client = std::move(creator_client);
  return s;
}

bool MeetService::State::Covers(const Principal& who, const Space& space, Access access) const {
  switch (access) {
    case Access::kSpaceRead:
      if (who.HasScope(kScopeMeetReadonly) || who.HasScope(kScopeMeetSettings)) return true;
      break;
    case Access::kSpaceWrite:
      if (who.HasScope(kScopeMeetSettings)) return true;
      break;
    case Access::kRecordsRead:
      if (who.HasScope(kScopeMeetReadonly)) return true;
      break;
    case Access::kSpaceCreate:
      break;
  }
  // meetings.space.created reaches only the spaces this app made.
  return who.HasScope(kScopeMeetCreated) && !space.creator_client.empty() &&
         space.creator_client == who.client_id;
}

bool MeetService::State::Visible(const Record& r) const {
  return !r.end || clock.Now() < *r.end + kRecordLifetime;
}

json MeetService::State::RenderSpace(const Space& s, bool owner_view) const {
  json out = {{"name", "spaces/" + s.id},
              {"meetingUri", "https://meet.google.com/" + s.code},
              {"meetingCode", s.code}};
  // Settings and the running conference are the owner's to see (the meeting-spaces guide).
  if (owner_view) {
    out["config"] = {{"accessType", s.access_type}, {"entryPointAccess", s.entry_point_access}};
    if (!s.active_record.empty()) {
      out["activeConference"] = {{"conferenceRecord", "conferenceRecords/" + s.active_record}};
    }
  }
  return out;
}

json MeetService::State::RenderRecord(const Record& r) const {
  json out = {{"name", "conferenceRecords/" + r.id},
              {"startTime", FormatTimestamp(r.start)},
              {"space", "spaces/" + r.space_id}};
  if (r.end) {
    out["endTime"] = FormatTimestamp(*r.end);
    out["expireTime"] = FormatTimestamp(*r.end + kRecordLifetime);
  }
  return out;
}

json MeetService::State::RenderParticipant(const Record& r, const Participant& p) const {
  json out = {{"name", "conferenceRecords/" + r.id + "/participants/" + p.id},
              {"earliestStartTime", FormatTimestamp(p.EarliestStart())}};
  if (auto end = p.LatestEnd()) out["latestEndTime"] = FormatTimestamp(*end);
  switch (p.who.kind) {
    case ParticipantKind::kSignedIn:
      out["signedinUser"] = {{"user", "users/" + p.who.user_id},
                             {"displayName", p.who.display_name}};
      break;
    case ParticipantKind::kAnonymous:
      out["anonymousUser"] = {{"displayName", p.who.display_name}};
      break;
    case ParticipantKind::kPhone:
      out["phoneUser"] = {{"displayName", p.who.display_name}};
      break;
  }
  return out;
}

json MeetService::State::RenderSession(const Record& r, const Participant& p,
                                       const Session& s) const {
  json out = {{"name", "conferenceRecords/" + r.id + "/participants/" + p.id +
                           "/participantSessions/" + s.id},
              {"startTime", FormatTimestamp(s.start)}};
  if (s.end) out["endTime"] = FormatTimestamp(*s.end);
  return out;
}

json MeetService::State::StateJson(const Space& s) const {
  json out = RenderSpace(s, true);
  out["owner"] = s.owner_email;
  if (!s.creator_client.empty()) out["creatorClient"] = s.creator_client;
  json recs = json::array();
  std::vector<const Record*> mine;
  for (const auto& [id, r] : records) {
    if (r.space_id == s.id) mine.push_back(&r);
  }
  std::sort(mine.begin(), mine.end(), [](auto* a, auto* b) { return a->start > b->start; });
  for (const Record* r : mine) {
    json rec = RenderRecord(*r);
    rec["participants"] = json::array();
    for (const auto& p : r->participants) {
      json pj = RenderParticipant(*r, p);
      pj["sessions"] = json::array();
      for (const auto& ses : p.sessions) pj["sessions"].push_back(RenderSession(*r, p, ses));
      rec["participants"].push_back(std::move(pj));
    }
    recs.push_back(std::move(rec));
  }
  out["conferenceRecords"] = std::move(recs);
  return out;
}

// --- Google's routes ------------------------------------------------------------------------

Response MeetService::State::Run(Request& req, Access access, std::string_view method,
                                 ApiHandler fn) {
  auto token = BearerToken(req);
  if (!token || token->empty()) return Unauthenticated();
  auto who = auth.FromAccessToken(*token);
  if (!who) return Unauthenticated();
  if (!HasAnyScope(*who, access)) return InsufficientScope(access, method);
  std::lock_guard lock(mu);
  return (this->*fn)(req, *who);
}

Response MeetService::State::GetSpace(Request& req, const Principal& who) {
  if (auto q = Params(req, {}); !q) return q.error();
  const Space* s = FindSpace(req.Param("space"));
  if (!s) return NotFound();
  if (!Covers(who, *s, Access::kSpaceRead)) return Denied();
  return net::JsonResponse(200, RenderSpace(*s, s->owner_email == who.email));
}

Response MeetService::State::PatchSpace(Request& req, const Principal& who) {
  auto q = Params(req, {"updateMask"});
  if (!q) return q.error();
  // The meeting code is an alias for spaces.get only; a patch names the space by its id.
  auto it = spaces.find(req.Param("space"));
  if (it == spaces.end()) return NotFound();
  Space& s = it->second;
  if (!Covers(who, s, Access::kSpaceWrite) || s.owner_email != who.email) return Denied();
  auto body = net::ParseJson(Trim(req.body).empty() ? "{}" : req.body);
  if (!body || !body->is_object()) return Invalid("Invalid JSON payload received.");
  const json config = body->value("config", json::object());
  if (!config.is_object()) return Invalid("Invalid value at 'space.config': expected an object.");
  for (const auto& [key, v] : config.items()) {
    if (key != "accessType" && key != "entryPointAccess" && key != "moderation" &&
        key != "moderationRestrictions" && key != "attendanceReportGenerationType" &&
        key != "artifactConfig") {
      return Invalid("Invalid JSON payload received. Unknown name \"" + key +
                     "\" at 'space.config': Cannot find field.");
    }
  }
  auto access = config.value("accessType", json());
  auto entry = config.value("entryPointAccess", json());
  if (!access.is_null() && (!access.is_string() || !ValidAccessType(access.get<std::string>()))) {
    return Invalid("Invalid value at 'space.config.access_type': " + access.dump());
  }
  if (!entry.is_null() &&
      (!entry.is_string() || !ValidEntryPointAccess(entry.get<std::string>()))) {
    return Invalid("Invalid value at 'space.config.entry_point_access': " + entry.dump());
  }
  // updateMask: absent or empty updates the fields given; "*" every field, unset ones back to
  // their defaults; otherwise the listed paths (camelCase or snake_case), unset ones reset.
  bool set_access = !access.is_null(), set_entry = !entry.is_null();
  std::string mask = FindValue(*q, "updateMask").value_or("");
  if (!Trim(mask).empty()) {
    set_access = set_entry = false;
    for (std::string_view path : Split(mask, ',')) {
      path = Trim(path);
      if (path == "*" || path == "config") {
        set_access = set_entry = true;
      } else if (path == "config.accessType" || path == "config.access_type") {
        set_access = true;
      } else if (path == "config.entryPointAccess" || path == "config.entry_point_access") {
        set_entry = true;
      } else {
        return Invalid("Invalid update mask path: \"" + std::string(path) +
                       "\" (this emulator updates config.accessType and "
                       "config.entryPointAccess).");
      }
    }
  }
  if (set_access) s.access_type = access.is_null() ? "TRUSTED" : access.get<std::string>();
  if (set_entry) s.entry_point_access = entry.is_null() ? "ALL" : entry.get<std::string>();
  return net::JsonResponse(200, RenderSpace(s, true));
}

Response MeetService::State::CreateSpaceApi(Request& req, const Principal& who) {
  if (auto q = Params(req, {}); !q) return q.error();
  auto body = net::ParseJson(Trim(req.body).empty() ? "{}" : req.body);
  if (!body || !body->is_object()) return Invalid("Invalid JSON payload received.");
  const json config = body->value("config", json::object());
  if (!config.is_object()) return Invalid("Invalid value at 'space.config': expected an object.");
  auto access = config.value("accessType", json("TRUSTED"));
  auto entry = config.value("entryPointAccess", json("ALL"));
  if (!access.is_string() || !ValidAccessType(access.get<std::string>())) {
    return Invalid("Invalid value at 'space.config.access_type': " + access.dump());
  }
  if (!entry.is_string() || !ValidEntryPointAccess(entry.get<std::string>())) {
    return Invalid("Invalid value at 'space.config.entry_point_access': " + entry.dump());
  }
  Space& s = AddSpace(who.email, NewMeetingCode(), who.client_id);
  s.access_type = access;
  s.entry_point_access = entry;
  return net::JsonResponse(200, RenderSpace(s, true));
}

Response MeetService::State::ListRecords(Request& req, const Principal& who) {
  auto q = Params(req, {"pageSize", "pageToken", "filter"});
  if (!q) return q.error();
  std::string filter_text = FindValue(*q, "filter").value_or("");
  auto filter = ParseMeetFilter(filter_text, {{"space.meeting_code", FilterField::kCode},
                                              {"space.name", FilterField::kString},
                                              {"start_time", FilterField::kTime},
                                              {"end_time", FilterField::kTime}});
  if (!filter) return Invalid("Invalid filter: " + filter.error().message());
  auto page = ParsePage(*q, 25, 100, "conferenceRecords\n" + filter_text, generation);
  if (!page) return page.error();
  std::vector<Keyed<const Record*>> hits;
  for (const auto& [id, r] : records) {
    auto sp = spaces.find(r.space_id);
    if (sp == spaces.end() || !Visible(r)) continue;
    const Space& s = sp->second;
    // A user's records are those of the spaces they own.
    if (s.owner_email != who.email || !Covers(who, s, Access::kRecordsRead)) continue;
    bool match = filter->Matches([&](std::string_view field) -> FilterValue {
      if (field == "space.meeting_code") return s.code;
      if (field == "space.name") return "spaces/" + s.id;
      if (field == "start_time") return r.start;
      return TimeValue(r.end);
    });
    if (match) hits.push_back({Micros(r.start), r.id, &r});
  }
  auto [items, next] = TakePage(std::move(hits), *page, generation);
  json out = json::object();
  if (!items.empty()) {
    out["conferenceRecords"] = json::array();
    for (const Record* r : items) out["conferenceRecords"].push_back(RenderRecord(*r));
  }
  if (!next.empty()) out["nextPageToken"] = next;
  return net::JsonResponse(200, out);
}

std::expected<MeetService::State::Record*, Response> MeetService::State::OwnRecord(
    Request& req, const Principal& who) {
  auto it = records.find(req.Param("record"));
  if (it == records.end() || !Visible(it->second)) return std::unexpected(NotFound());
  auto sp = spaces.find(it->second.space_id);
  if (sp == spaces.end()) return std::unexpected(NotFound());
  if (sp->second.owner_email != who.email || !Covers(who, sp->second, Access::kRecordsRead)) {
    return std::unexpected(Denied());
  }
  return &it->second;
}

std::expected<MeetService::State::Participant*, Response> MeetService::State::OwnParticipant(
    Request& req, const Principal& who) {
  auto rec = OwnRecord(req, who);
  if (!rec) return std::unexpected(rec.error());
  for (auto& p : (*rec)->participants) {
    if (p.id == req.Param("participant")) return &p;
  }
  return std::unexpected(NotFound());
}

Response MeetService::State::GetRecord(Request& req, const Principal& who) {
  if (auto q = Params(req, {}); !q) return q.error();
  auto rec = OwnRecord(req, who);
  if (!rec) return rec.error();
  return net::JsonResponse(200, RenderRecord(**rec));
}

Response MeetService::State::ListParticipants(Request& req, const Principal& who) {
  auto q = Params(req, {"pageSize", "pageToken", "filter"});
  if (!q) return q.error();
  auto rec = OwnRecord(req, who);
  if (!rec) return rec.error();
  const Record& r = **rec;
  std::string filter_text = FindValue(*q, "filter").value_or("");
  auto filter = ParseMeetFilter(filter_text, {{"earliest_start_time", FilterField::kTime},
                                              {"latest_end_time", FilterField::kTime}});
  if (!filter) return Invalid("Invalid filter: " + filter.error().message());
  auto page = ParsePage(*q, 100, 250, "participants\n" + r.id + "\n" + filter_text, generation);
  if (!page) return page.error();
  std::vector<Keyed<const Participant*>> hits;
  for (const auto& p : r.participants) {
    bool match = filter->Matches([&](std::string_view field) -> FilterValue {
      if (field == "earliest_start_time") return p.EarliestStart();
      return TimeValue(p.LatestEnd());
    });
    if (match) hits.push_back({Micros(p.EarliestStart()), p.id, &p});
  }
  auto [items, next] = TakePage(std::move(hits), *page, generation);
  json out = json::object();
  if (!items.empty()) {
    out["participants"] = json::array();
    for (const Participant* p : items) out["participants"].push_back(RenderParticipant(r, *p));
  }
  if (!next.empty()) out["nextPageToken"] = next;
  return net::JsonResponse(200, out);
}

Response MeetService::State::GetParticipant(Request& req, const Principal& who) {
  if (auto q = Params(req, {}); !q) return q.error();
  auto p = OwnParticipant(req, who);
  if (!p) return p.error();
  return net::JsonResponse(200, RenderParticipant(records.at(req.Param("record")), **p));
}

Response MeetService::State::ListSessions(Request& req, const Principal& who) {
  auto q = Params(req, {"pageSize", "pageToken", "filter"});
  if (!q) return q.error();
  auto p = OwnParticipant(req, who);
  if (!p) return p.error();
  const Record& r = records.at(req.Param("record"));
  std::string filter_text = FindValue(*q, "filter").value_or("");
  auto filter = ParseMeetFilter(
      filter_text, {{"start_time", FilterField::kTime}, {"end_time", FilterField::kTime}});
  if (!filter) return Invalid("Invalid filter: " + filter.error().message());
  auto page = ParsePage(*q, 100, 250, "sessions\n" + r.id + "\n" + (*p)->id + "\n" + filter_text,
                        generation);
  if (!page) return page.error();
  std::vector<Keyed<const Session*>> hits;
  for (const auto& s : (*p)->sessions) {
    bool match = filter->Matches([&](std::string_view field) -> FilterValue {
      if (field == "start_time") return s.start;
      return TimeValue(s.end);
    });
    if (match) hits.push_back({Micros(s.start), s.id, &s});
  }
  auto [items, next] = TakePage(std::move(hits), *page, generation);
  json out = json::object();
  if (!items.empty()) {
    out["participantSessions"] = json::array();
    for (const Session* s : items) {
      out["participantSessions"].push_back(RenderSession(r, **p, *s));
    }
  }
  if (!next.empty()) out["nextPageToken"] = next;
  return net::JsonResponse(200, out);
}

Response MeetService::State::GetSession(Request& req, const Principal& who) {
  if (auto q = Params(req, {}); !q) return q.error();
  auto p = OwnParticipant(req, who);
  if (!p) return p.error();
  for (const auto& s : (*p)->sessions) {
    if (s.id == req.Param("session")) {
      return net::JsonResponse(200, RenderSession(records.at(req.Param("record")), **p, s));
    }
  }
  return NotFound();
}

// --- MeetService ----------------------------------------------------------------------------

MeetService::MeetService(const Authenticator& auth, Clock& clock)
    : state_(std::make_unique<State>(auth, clock)) {}

MeetService::~MeetService() = default;

void MeetService::Reset() {
  std::lock_guard lock(state_->mu);
  state_->spaces.clear();
  state_->codes.clear();
  state_->records.clear();
  ++state_->generation;
}

void MeetService::SetAccountLookup(
    std::function<std::optional<MeetUser>(std::string_view email)> lookup) {
  std::lock_guard lock(state_->mu);
  state_->lookup = std::move(lookup);
}

void MeetService::AddCalendarSpace(std::string_view owner_email, std::string_view meeting_code) {
  std::lock_guard lock(state_->mu);
  if (state_->codes.contains(ToLower(meeting_code))) return;
  state_->AddSpace(std::string(owner_email), std::string(meeting_code), "");
}

Result<json> MeetService::CreateSpace(std::string_view owner_email, std::string_view meeting_code,
                                      std::string_view access_type) {
  if (owner_email.empty()) return Fail(ErrorCode::kInvalidArgument, "owner is required", "owner");
  if (!ValidAccessType(access_type)) {
    return Fail(ErrorCode::kInvalidArgument, "accessType must be OPEN, TRUSTED or RESTRICTED",
                "accessType");
  }
  if (meeting_code.size() > 128 ||
      std::any_of(meeting_code.begin(), meeting_code.end(), [](char c) {
        return !std::isalnum(static_cast<unsigned char>(c)) && c != '-';
      })) {
    return Fail(ErrorCode::kInvalidArgument,
                "meetingCode must be letters, digits and '-', at most 128", "meetingCode");
  }
  std::lock_guard lock(state_->mu);
  std::string code = meeting_code.empty() ? state_->NewMeetingCode() : std::string(meeting_code);
  if (state_->codes.contains(ToLower(code))) {
    return Fail(ErrorCode::kAlreadyExists, "meeting code " + code + " has a space already",
                "meetingCode");
  }
  State::Space& s = state_->AddSpace(std::string(owner_email), code, "");
  s.access_type = std::string(access_type);
  return state_->StateJson(s);
}

std::optional<json> MeetService::SpaceState(std::string_view space) const {
  std::lock_guard lock(state_->mu);
  const State::Space* s = state_->FindSpace(space);
  if (!s) return std::nullopt;
  return state_->StateJson(*s);
}

void MeetService::Register(net::Router& router) {
  State* s = state_.get();
  auto api = [s](Access access, std::string_view method, State::ApiHandler fn) {
    return [s, access, method, fn](Request& req) { return s->Run(req, access, method, fn); };
  };
  router.Get(
      "/v2/spaces/{space}",
      api(Access::kSpaceRead, "google.apps.meet.v2.SpacesService.GetSpace", &State::GetSpace));
  router.Patch("/v2/spaces/{space}",
               api(Access::kSpaceWrite, "google.apps.meet.v2.SpacesService.UpdateSpace",
                   &State::PatchSpace));
  router.Post("/v2/spaces",
              api(Access::kSpaceCreate, "google.apps.meet.v2.SpacesService.CreateSpace",
                  &State::CreateSpaceApi));
  const std::string record = "/v2/conferenceRecords/{record}";
  const std::string participant = record + "/participants/{participant}";
  router.Get("/v2/conferenceRecords",
             api(Access::kRecordsRead,
                 "google.apps.meet.v2.ConferenceRecordsService.ListConferenceRecords",
                 &State::ListRecords));
  router.Get(record, api(Access::kRecordsRead,
                         "google.apps.meet.v2.ConferenceRecordsService.GetConferenceRecord",
                         &State::GetRecord));
  router.Get(
      record + "/participants",
      api(Access::kRecordsRead, "google.apps.meet.v2.ConferenceRecordsService.ListParticipants",
          &State::ListParticipants));
  router.Get(participant, api(Access::kRecordsRead,
                              "google.apps.meet.v2.ConferenceRecordsService.GetParticipant",
                              &State::GetParticipant));
  router.Get(participant + "/participantSessions",
             api(Access::kRecordsRead,
                 "google.apps.meet.v2.ConferenceRecordsService.ListParticipantSessions",
                 &State::ListSessions));
  router.Get(participant + "/participantSessions/{session}",
             api(Access::kRecordsRead,
                 "google.apps.meet.v2.ConferenceRecordsService.GetParticipantSession",
                 &State::GetSession));
  RegisterControl(router);
}

}  // namespace telemeet::emulator
