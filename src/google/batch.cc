// The batch half of CalendarClient: the executor that sends operations in multipart/mixed
// batches and retries failed parts alone (google-protocol.md §10). The multipart encoding and
// decoding live in answers.cc.
#include <algorithm>
#include <utility>

#include "crypto/random.h"
#include "google/calendar_client.h"
#include "google/json_util.h"

namespace telemeet::google {

CalendarClient::Call CalendarClient::CallFor(const BatchOperation& op) {
  switch (op.kind) {
    case BatchOperation::Kind::kInsert:
      return InsertCall(op.calendar_id, op.spec, op.send_updates);
    case BatchOperation::Kind::kGet:
      return GetCall(op.calendar_id, op.event_id);
    case BatchOperation::Kind::kPatchTimes:
      return PatchTimesCall(op.calendar_id, op.event_id, op.spec.start, op.spec.end,
                            op.send_updates);
    case BatchOperation::Kind::kDelete:
      return DeleteCall(op.calendar_id, op.event_id, op.send_updates);
  }
  return GetCall(op.calendar_id, op.event_id);
}

GoogleResult<BatchItemResult> CalendarClient::RunSingle(std::string_view doctor,
                                                        const BatchOperation& op) {
  BatchItemResult out;
  switch (op.kind) {
    case BatchOperation::Kind::kInsert: {
      auto r = InsertEvent(doctor, op.calendar_id, op.spec, op.send_updates);
      if (!r) return std::unexpected(r.error());
      out.event = std::move(r->event);
      out.adopted = r->adopted;
      return out;
    }
    case BatchOperation::Kind::kGet: {
      auto r = GetEvent(doctor, op.calendar_id, op.event_id);
      if (!r) return std::unexpected(r.error());
      out.event = std::move(*r);
      return out;
    }
    case BatchOperation::Kind::kPatchTimes: {
      auto r = PatchEventTimes(doctor, op.calendar_id, op.event_id, op.spec.start, op.spec.end,
                               op.send_updates);
      if (!r) return std::unexpected(r.error());
      out.event = std::move(*r);
      return out;
    }
    case BatchOperation::Kind::kDelete: {
      auto r = DeleteEvent(doctor, op.calendar_id, op.event_id, op.send_updates);
      if (!r) return std::unexpected(r.error());
      out.deleted = *r;
      return out;
    }
  }
  return GFail(ErrorKind::kInvalidRequest, "unknown batch operation");
}

std::vector<GoogleResult<BatchItemResult>> CalendarClient::ExecuteBatch(
    std::string_view doctor, const std::vector<BatchOperation>& operations) {
  std::vector<GoogleResult<BatchItemResult>> results;
  results.reserve(operations.size());
  for (size_t begin = 0; begin < operations.size(); begin += options_.max_batch_parts) {
    const size_t end = std::min(operations.size(), begin + options_.max_batch_parts);
    std::vector<BatchPart> parts;
    for (size_t i = begin; i < end; ++i) {
      const BatchOperation& op = operations[i];
      if (op.kind == BatchOperation::Kind::kInsert && !ValidEventId(op.spec.id)) {
        parts.push_back({});  // never sent; answered below
        continue;
      }
      Call c = CallFor(op);
      parts.push_back({c.method, c.target, c.body ? internal::Dump(*c.body) : std::string()});
    }
    // Invalid parts are answered locally; the others go out together.
    std::vector<BatchPart> to_send;
    std::vector<size_t> sent_index;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (parts[i].method.empty()) continue;
      to_send.push_back(parts[i]);
      sent_index.push_back(begin + i);
    }
    std::vector<std::optional<GoogleResult<HttpResponse>>> answers(end - begin);
    if (!to_send.empty()) {
      const std::string boundary = "batch_" + crypto::RandomToken(12);
      Call batch{.operation = "batch",
                 .method = "POST",
                 .target = "/batch/calendar/v3",
                 .raw_body = EncodeBatch(to_send, boundary),
                 .content_type = "multipart/mixed; boundary=" + boundary,
                 .quota_cost = static_cast<int>(to_send.size())};
      GoogleResult<HttpResponse> res = Execute(doctor, batch);
      GoogleResult<std::vector<HttpResponse>> decoded =
          res ? DecodeBatch(res->headers.Get("Content-Type").value_or(""), res->body)
              : GoogleResult<std::vector<HttpResponse>>(std::unexpected(res.error()));
      if (decoded && decoded->size() != to_send.size()) {
        decoded =
            GFail(ErrorKind::kBadResponse, "batch answer has " + std::to_string(decoded->size()) +
                                               " parts for " + std::to_string(to_send.size()));
      }
      for (size_t k = 0; k < sent_index.size(); ++k) {
        size_t i = sent_index[k] - begin;
        if (!decoded) {
          answers[i] = std::unexpected(decoded.error());
        } else {
          answers[i] = std::move((*decoded)[k]);
        }
      }
    }
    for (size_t i = begin; i < end; ++i) {
      const BatchOperation& op = operations[i];
      std::optional<GoogleResult<HttpResponse>>& answer = answers[i - begin];
      if (!answer) {
        results.push_back(GFail(ErrorKind::kInvalidRequest,
                                "event id must be 5-1024 base32hex characters (a-v, 0-9)"));
        continue;
      }
      if (!*answer) {
        // The whole batch failed: each part gets the batch's error.
        results.push_back(std::unexpected(answer->error()));
        continue;
      }
      const HttpResponse& part = **answer;
      {
        // One audit record per part, under the part's own operation.
        Call part_call = CallFor(op);
        part_call.operation += " (batch)";
        const bool ok = part.status >= 200 && part.status < 300;
        Report(doctor, part_call, part.status, std::chrono::microseconds(0), 1,
               ok ? std::string_view("ok")
                  : ErrorKindName(GoogleError::FromResponse(part, deps_.clock.Now()).kind()));
      }
      if (part.status >= 200 && part.status < 300) {
        BatchItemResult item;
        if (op.kind == BatchOperation::Kind::kDelete) {
          item.deleted = DeleteOutcome::kDeleted;
        } else {
          GoogleResult<Event> e = ParseEvent(part.body);
          if (!e) {
            results.push_back(std::unexpected(e.error()));
            continue;
          }
          item.event = std::move(*e);
        }
        results.push_back(std::move(item));
        continue;
      }
      GoogleError error = GoogleError::FromResponse(part, deps_.clock.Now());
      const ErrorKind kind = error.kind();
      if (kind == ErrorKind::kRateLimited && deps_.limiter != nullptr) {
        deps_.limiter->OnRateLimited(doctor, error.reason() == "userRateLimitExceeded");
      }
      if (op.kind == BatchOperation::Kind::kDelete &&
          (kind == ErrorKind::kNotFound || kind == ErrorKind::kGone)) {
        results.push_back(BatchItemResult{
            .event = std::nullopt, .adopted = false, .deleted = DeleteOutcome::kAlreadyGone});
      } else if (op.kind == BatchOperation::Kind::kInsert && kind == ErrorKind::kDuplicate) {
        auto adopted = AdoptExisting(doctor, op.calendar_id, op.spec);
        if (!adopted) {
          results.push_back(std::unexpected(adopted.error()));
        } else {
          results.push_back(BatchItemResult{
              .event = std::move(adopted->event), .adopted = true, .deleted = std::nullopt});
        }
      } else if (error.IsRetriable() || kind == ErrorKind::kConflict ||
                 kind == ErrorKind::kUnauthorized) {
        // Retried alone, with the full retry policy and the 401 refresh.
        results.push_back(RunSingle(doctor, op));
      } else {
        results.push_back(std::unexpected(std::move(error)));
      }
    }
  }
  return results;
}

}  // namespace telemeet::google
