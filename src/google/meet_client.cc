#include "google/meet_client.h"

#include <algorithm>
#include <utility>

#include "base/redact.h"
#include "base/strings.h"
#include "google/as_doctor.h"
#include "google/json_util.h"

namespace telemeet::google {
namespace {

using nlohmann::json;
using namespace internal;

constexpr std::string_view kApi = "/v2";

bool Is2xx(int status) { return status >= 200 && status < 300; }

// A resource name as Google writes them ("conferenceRecords/abc/participants/1-2"): it becomes
// part of a path, so nothing but name characters, and it must start where we expect.
bool ValidName(std::string_view name, std::string_view prefix) {
  if (!name.starts_with(prefix) || name.size() == prefix.size() || name.size() > 512) {
    return false;
  }
  if (name.find("..") != std::string_view::npos || name.find("//") != std::string_view::npos) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '/' || c == '.';
  });
}

bool ValidMeetingCode(std::string_view code) {
  return !code.empty() && code.size() <= 64 &&
         std::all_of(code.begin(), code.end(),
                     [](unsigned char c) { return (c >= 'a' && c <= 'z') || c == '-'; });
}

// An RFC 3339 instant for a filter: digits and the date/time punctuation only.
bool ValidFilterTime(std::string_view t) {
  return t.size() >= 20 && t.size() <= 40 && std::all_of(t.begin(), t.end(), [](unsigned char c) {
           return std::isdigit(c) || c == '-' || c == ':' || c == 'T' || c == 'Z' || c == '.' ||
                  c == '+';
         });
}

std::string PageTarget(std::string path, const MeetPageQuery& q) {
  KeyValues params;
  if (!q.filter.empty()) params.emplace_back("filter", q.filter);
  if (q.page_size > 0) params.emplace_back("pageSize", std::to_string(q.page_size));
  if (!q.page_token.empty()) params.emplace_back("pageToken", q.page_token);
  if (params.empty()) return path;
  return path + "?" + FormEncode(params);
}

template <typename T, typename F>
GoogleResult<MeetPage<T>> ParsePage(std::string_view body, const char* field, F&& item_of) {
  json v = ParseOrDiscard(body);
  if (!v.is_object()) return GFail(ErrorKind::kBadResponse, "Meet answer is not a JSON object");
  MeetPage<T> page;
  page.next_page_token = Str(v, "nextPageToken");
  if (auto it = v.find(field); it != v.end()) {
    if (!it->is_array()) {
      return GFail(ErrorKind::kBadResponse,
                   std::string("Meet answer's ") + field + " is not a list");
    }
    for (const json& item : *it) {
      GoogleResult<T> one = item_of(item);
      if (!one) return std::unexpected(one.error());
      page.items.push_back(std::move(*one));
    }
  }
  return page;
}

}  // namespace

GoogleResult<Space> ParseSpace(std::string_view body) {
  json v = ParseOrDiscard(body);
  if (!v.is_object() || Str(v, "name").empty()) {
    return GFail(ErrorKind::kBadResponse, "Meet space without a name");
  }
  Space s;
  s.name = Str(v, "name");
  s.meeting_uri = Str(v, "meetingUri");
  s.meeting_code = Str(v, "meetingCode");
  if (const json* config = Obj(v, "config")) s.access_type = Str(*config, "accessType");
  if (const json* active = Obj(v, "activeConference")) {
    s.active_conference = Str(*active, "conferenceRecord");
  }
  return s;
}

GoogleResult<MeetPage<ConferenceRecord>> ParseConferenceRecordPage(std::string_view body) {
  return ParsePage<ConferenceRecord>(
      body, "conferenceRecords", [](const json& item) -> GoogleResult<ConferenceRecord> {
        ConferenceRecord r{.name = Str(item, "name"),
                           .start_time = Str(item, "startTime"),
                           .end_time = Str(item, "endTime"),
                           .expire_time = Str(item, "expireTime"),
                           .space = Str(item, "space")};
        if (!ValidName(r.name, "conferenceRecords/") || r.start_time.empty()) {
          return GFail(ErrorKind::kBadResponse, "conference record without a name or start");
        }
        return r;
      });
}

GoogleResult<MeetPage<Participant>> ParseParticipantPage(std::string_view body) {
  return ParsePage<Participant>(
      body, "participants", [](const json& item) -> GoogleResult<Participant> {
        Participant p{.name = Str(item, "name"),
                      .kind = Participant::Kind::kAnonymous,
                      .user = {},
                      .earliest_start_time = Str(item, "earliestStartTime"),
                      .latest_end_time = Str(item, "latestEndTime")};
        if (!ValidName(p.name, "conferenceRecords/")) {
          return GFail(ErrorKind::kBadResponse, "participant without a name");
        }
        // Exactly one of the three; displayName is deliberately never read.
        if (const json* signed_in = Obj(item, "signedinUser")) {
          p.kind = Participant::Kind::kSignedIn;
          p.user = Str(*signed_in, "user");
        } else if (Obj(item, "phoneUser") != nullptr) {
          p.kind = Participant::Kind::kPhone;
        } else if (Obj(item, "anonymousUser") != nullptr) {
          p.kind = Participant::Kind::kAnonymous;
        } else {
          return GFail(ErrorKind::kBadResponse, "participant of no known kind");
        }
        return p;
      });
}

GoogleResult<MeetPage<ParticipantSession>> ParseParticipantSessionPage(std::string_view body) {
  return ParsePage<ParticipantSession>(
      body, "participantSessions", [](const json& item) -> GoogleResult<ParticipantSession> {
        ParticipantSession s{.name = Str(item, "name"),
                             .start_time = Str(item, "startTime"),
                             .end_time = Str(item, "endTime")};
        if (s.name.empty()) return GFail(ErrorKind::kBadResponse, "session without a name");
        return s;
      });
}

MeetClient::MeetClient(MeetOptions options, MeetDeps deps)
    : options_(std::move(options)), deps_(deps) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/') {
    options_.base_url.pop_back();
  }
  options_.max_pages = std::max(1, options_.max_pages);
}

// ---- Transport plumbing (as the Calendar client's, less marking the grant dead) ----

GoogleResult<HttpResponse> MeetClient::SendOnce(std::string_view doctor, const Call& call,
                                                std::string_view token, int attempt) {
  HttpRequest req{.method = call.method,
                  .url = options_.base_url + call.target,
                  .headers = {},
                  .body = call.body,
                  .timeout = options_.timeout};
  req.headers.Set("Authorization", "Bearer " + std::string(token));
  req.headers.Set("Accept", "application/json");
  if (!call.body.empty()) req.headers.Set("Content-Type", "application/json");

  const auto started = std::chrono::steady_clock::now();
  Result<HttpResponse> res = deps_.transport.Send(req);
  const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  auto report = [&](int status, std::string_view outcome) {
    if (deps_.observer == nullptr) return;
    deps_.observer->OnCall(CallRecord{.operation = call.operation,
                                      .doctor_id = std::string(doctor),
                                      .method = call.method,
                                      .path = RedactTarget(call.target),
                                      .status = status,
                                      .latency = latency,
                                      .attempt = attempt,
                                      .outcome = std::string(outcome)});
  };
  if (!res) {
    GoogleError e = GoogleError::FromTransport(res.error());
    report(0, ErrorKindName(e.kind()));
    return std::unexpected(std::move(e));
  }
  if (!Is2xx(res->status)) {
    GoogleError e = GoogleError::FromResponse(*res, deps_.clock.Now());
    report(res->status, ErrorKindName(e.kind()));
    return std::unexpected(std::move(e));
  }
  report(res->status, "ok");
  return std::move(*res);
}

GoogleResult<HttpResponse> MeetClient::Execute(std::string_view doctor, const Call& call) {
  // Every Meet call here is a read or an idempotent patch (the same access type again).
  return CallAsDoctor(deps_.tokens, deps_.retry, deps_.limiter, doctor, /*idempotent=*/true,
                      /*permits=*/1, [&](const std::string& token, int attempt) {
                        return SendOnce(doctor, call, token, attempt);
                      });
}

template <typename T, typename F>
GoogleResult<std::vector<T>> MeetClient::All(F&& page_of) {
  std::vector<T> all;
  std::string token;
  for (int pages = 0; pages < options_.max_pages; ++pages) {
    GoogleResult<MeetPage<T>> page = page_of(token);
    if (!page) return std::unexpected(page.error());
    std::move(page->items.begin(), page->items.end(), std::back_inserter(all));
    if (page->next_page_token.empty()) return all;
    if (page->next_page_token == token) {
      return GFail(ErrorKind::kBadResponse, "Meet repeated its page token");
    }
    token = page->next_page_token;
  }
  return GFail(ErrorKind::kBadResponse, "Meet listing did not end within the page limit");
}

// ---- Spaces ----

GoogleResult<Space> MeetClient::GetSpace(std::string_view doctor, std::string_view space_or_code) {
  std::string target;
  if (ValidName(space_or_code, "spaces/")) {
    target = std::string(kApi) + "/" + std::string(space_or_code);
  } else if (ValidMeetingCode(space_or_code)) {
    target = std::string(kApi) + "/spaces/" + std::string(space_or_code);
  } else {
    return GFail(ErrorKind::kInvalidRequest, "not a Meet space name or meeting code");
  }
  GoogleResult<HttpResponse> res =
      Execute(doctor, Call{.operation = "meet.spaces.get", .method = "GET", .target = target});
  if (!res) return std::unexpected(res.error());
  return ParseSpace(res->body);
}

GoogleResult<Space> MeetClient::PatchSpaceAccessType(std::string_view doctor,
                                                     std::string_view space,
                                                     std::string_view access_type) {
  if (access_type != "OPEN" && access_type != "TRUSTED" && access_type != "RESTRICTED") {
    return GFail(ErrorKind::kInvalidRequest, "access type must be OPEN, TRUSTED or RESTRICTED");
  }
  std::string path;
  if (ValidName(space, "spaces/")) {
    path = std::string(kApi) + "/" + std::string(space);
  } else if (ValidMeetingCode(space)) {
    path = std::string(kApi) + "/spaces/" + std::string(space);
  } else {
    return GFail(ErrorKind::kInvalidRequest, "not a Meet space name or meeting code");
  }
  GoogleResult<HttpResponse> res = Execute(
      doctor, Call{.operation = "meet.spaces.patch",
                   .method = "PATCH",
                   .target = path + "?" + FormEncode({{"updateMask", "config.accessType"}}),
                   .body = Dump(json{{"config", {{"accessType", std::string(access_type)}}}})});
  if (!res) return std::unexpected(res.error());
  return ParseSpace(res->body);
}

// ---- Conference records ----

GoogleResult<std::string> MeetClient::RecordFilter(std::string_view meeting_code,
                                                   std::string_view started_from,
                                                   std::string_view started_to) {
  if (!ValidMeetingCode(meeting_code)) {
    return GFail(ErrorKind::kInvalidRequest, "not a Meet meeting code");
  }
  std::string filter = "space.meeting_code = \"" + std::string(meeting_code) + "\"";
  for (auto [op, t] : {std::pair{">=", started_from}, std::pair{"<=", started_to}}) {
    if (t.empty()) continue;
    if (!ValidFilterTime(t)) return GFail(ErrorKind::kInvalidRequest, "not an RFC 3339 time");
    filter += " AND start_time " + std::string(op) + " \"" + std::string(t) + "\"";
  }
  return filter;
}

GoogleResult<MeetPage<ConferenceRecord>> MeetClient::ListConferenceRecords(
    std::string_view doctor, const MeetPageQuery& query) {
  GoogleResult<HttpResponse> res =
      Execute(doctor, Call{.operation = "meet.conferenceRecords.list",
                           .method = "GET",
                           .target = PageTarget(std::string(kApi) + "/conferenceRecords", query)});
  if (!res) return std::unexpected(res.error());
  return ParseConferenceRecordPage(res->body);
}

GoogleResult<MeetPage<Participant>> MeetClient::ListParticipants(std::string_view doctor,
                                                                 std::string_view record,
                                                                 const MeetPageQuery& query) {
  if (!ValidName(record, "conferenceRecords/")) {
    return GFail(ErrorKind::kInvalidRequest, "not a conference record name");
  }
  GoogleResult<HttpResponse> res = Execute(
      doctor, Call{.operation = "meet.participants.list",
                   .method = "GET",
                   .target = PageTarget(
                       std::string(kApi) + "/" + std::string(record) + "/participants", query)});
  if (!res) return std::unexpected(res.error());
  return ParseParticipantPage(res->body);
}

GoogleResult<MeetPage<ParticipantSession>> MeetClient::ListParticipantSessions(
    std::string_view doctor, std::string_view participant, const MeetPageQuery& query) {
  if (!ValidName(participant, "conferenceRecords/")) {
    return GFail(ErrorKind::kInvalidRequest, "not a participant name");
  }
  GoogleResult<HttpResponse> res =
      Execute(doctor, Call{.operation = "meet.participantSessions.list",
                           .method = "GET",
                           .target = PageTarget(std::string(kApi) + "/" + std::string(participant) +
                                                    "/participantSessions",
                                                query)});
  if (!res) return std::unexpected(res.error());
  return ParseParticipantSessionPage(res->body);
}

GoogleResult<std::vector<ConferenceRecord>> MeetClient::ListAllConferenceRecords(
    std::string_view doctor, std::string filter) {
  return All<ConferenceRecord>([&](const std::string& token) {
    return ListConferenceRecords(
        doctor, MeetPageQuery{.filter = filter, .page_size = 100, .page_token = token});
  });
}

GoogleResult<std::vector<Participant>> MeetClient::ListAllParticipants(std::string_view doctor,
                                                                       std::string_view record) {
  return All<Participant>([&](const std::string& token) {
    return ListParticipants(doctor, record,
                            MeetPageQuery{.filter = {}, .page_size = 250, .page_token = token});
  });
}

GoogleResult<std::vector<ParticipantSession>> MeetClient::ListAllParticipantSessions(
    std::string_view doctor, std::string_view participant) {
  return All<ParticipantSession>([&](const std::string& token) {
    return ListParticipantSessions(
        doctor, participant, MeetPageQuery{.filter = {}, .page_size = 250, .page_token = token});
  });
}

}  // namespace telemeet::google
