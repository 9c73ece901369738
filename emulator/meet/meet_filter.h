// The subset of AIP-160 filters the Meet REST v2 list methods accept (google-protocol.md §16):
// comparisons of one field with a literal, `IS NULL` / `IS NOT NULL`, joined by AND and OR (OR
// binds tighter than AND, as AIP-160 says), e.g.
//
//   auto f = ParseMeetFilter(R"(space.meeting_code = "abc-mnop-xyz" AND end_time IS NULL)",
//                            {{"space.meeting_code", FilterField::kCode},
//                             {"end_time", FilterField::kTime}});
//   if (!f) return Invalid(f.error().message());
//   bool hit = f->Matches([&](std::string_view field) -> FilterValue { ... });
//
// Fields are typed: strings compare with = and != only; meeting codes ignore case (Google's
// are case-insensitive); times (RFC 3339 literals, quoted or not) with = != < <= > >=. A
// comparison with an unset (null) time is false, as in SQL. Anything else, an unknown field
// or a malformed literal is kInvalidArgument with a message naming it. Parentheses and NOT
// are not supported.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/clock.h"
#include "base/error.h"

namespace telemeet::emulator {

enum class FilterField { kString, kCode, kTime };

// A field's value on one resource: a string, a time, or unset.
using FilterValue = std::variant<std::monostate, std::string, Instant>;

class MeetFilter {
 public:
  // The empty filter matches everything.
  MeetFilter() = default;

  bool Matches(const std::function<FilterValue(std::string_view field)>& lookup) const;
  bool empty() const { return groups_.empty(); }

 private:
  friend Result<MeetFilter> ParseMeetFilter(std::string_view,
                                            const std::map<std::string, FilterField, std::less<>>&);
  enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kIsNull, kIsNotNull };
  struct Condition {
    std::string field;
    FilterField type = FilterField::kString;
    Op op = Op::kEq;
    std::string text;  // kString / kCode literal (lower case for kCode)
    Instant time;      // kTime literal
  };
  bool Holds(const Condition& c, const FilterValue& v) const;

  std::vector<std::vector<Condition>> groups_;  // AND of ORs
};

Result<MeetFilter> ParseMeetFilter(std::string_view text,
                                   const std::map<std::string, FilterField, std::less<>>& fields);

}  // namespace telemeet::emulator
