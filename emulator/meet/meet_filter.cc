#include "emulator/meet/meet_filter.h"

#include <cctype>

#include "base/strings.h"
#include "emulator/calendar/event_time.h"

namespace telemeet::emulator {

namespace {

struct Token {
  enum Kind { kWord, kString, kOp, kEnd } kind = kEnd;
  std::string text;
};

bool IsOpChar(char c) { return c == '=' || c == '!' || c == '<' || c == '>'; }

// Splits a filter into words (fields, keywords, bare literals), quoted strings and operators.
Result<std::vector<Token>> Tokenize(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '"') {
      std::string text;
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          text.push_back(s[i + 1]);
          i += 2;
        } else if (s[i] == '"') {
          closed = true;
          ++i;
          break;
        } else {
          text.push_back(s[i++]);
        }
      }
      if (!closed) return Fail(ErrorCode::kInvalidArgument, "unterminated string in filter");
      out.push_back({Token::kString, std::move(text)});
    } else if (IsOpChar(c)) {
      std::string op(1, c);
      if (i + 1 < s.size() && s[i + 1] == '=') op.push_back('=');
      if (op == "!" || op == "==") {
        return Fail(ErrorCode::kInvalidArgument, "unknown operator '" + op + "' in filter");
      }
      i += op.size();
      out.push_back({Token::kOp, std::move(op)});
    } else if (c == '(' || c == ')') {
      return Fail(ErrorCode::kInvalidArgument, "parentheses are not supported in filter");
    } else {
      size_t start = i;
      while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i])) && !IsOpChar(s[i]) &&
             s[i] != '"' && s[i] != '(' && s[i] != ')') {
        ++i;
      }
      out.push_back({Token::kWord, std::string(s.substr(start, i - start))});
    }
  }
  return out;
}

}  // namespace

Result<MeetFilter> ParseMeetFilter(std::string_view text,
                                   const std::map<std::string, FilterField, std::less<>>& fields) {
  MeetFilter filter;
  if (Trim(text).empty()) return filter;
  auto tokens = TM_TRY(Tokenize(text));
  size_t pos = 0;
  auto peek = [&]() -> const Token& {
    static const Token end;
    return pos < tokens.size() ? tokens[pos] : end;
  };
  auto keyword = [&](std::string_view k) {
    return peek().kind == Token::kWord && peek().text == k;
  };
  auto condition = [&]() -> Result<MeetFilter::Condition> {
    const Token& field = peek();
    if (field.kind != Token::kWord) {
      return Fail(ErrorCode::kInvalidArgument, "expected a field name in filter");
    }
    auto known = fields.find(field.text);
    if (known == fields.end()) {
      return Fail(ErrorCode::kInvalidArgument, "field '" + field.text + "' cannot be filtered on");
    }
    MeetFilter::Condition c{.field = field.text, .type = known->second};
    ++pos;
    if (keyword("IS")) {
      ++pos;
      bool negated = keyword("NOT");
      if (negated) ++pos;
      if (!keyword("NULL")) {
        return Fail(ErrorCode::kInvalidArgument, "expected NULL after IS in filter");
      }
      ++pos;
      c.op = negated ? MeetFilter::Op::kIsNotNull : MeetFilter::Op::kIsNull;
      return c;
    }
    if (peek().kind != Token::kOp) {
      return Fail(ErrorCode::kInvalidArgument, "expected an operator after '" + c.field + "'");
    }
    std::string op = peek().text;
    ++pos;
    static const std::map<std::string, MeetFilter::Op, std::less<>> kOps = {
        {"=", MeetFilter::Op::kEq},  {"!=", MeetFilter::Op::kNe}, {"<", MeetFilter::Op::kLt},
        {"<=", MeetFilter::Op::kLe}, {">", MeetFilter::Op::kGt},  {">=", MeetFilter::Op::kGe}};
    c.op = kOps.at(op);
    const Token& value = peek();
    if (value.kind != Token::kString && value.kind != Token::kWord) {
      return Fail(ErrorCode::kInvalidArgument,
                  "expected a value after '" + c.field + " " + op + "'");
    }
    ++pos;
    if (c.type == FilterField::kTime) {
      auto t = ParseRfc3339(value.text);
      if (!t) {
        return Fail(ErrorCode::kInvalidArgument,
                    "'" + value.text + "' is not an RFC 3339 time (field " + c.field + ")");
      }
      c.time = t->instant;
    } else {
      if (c.op != MeetFilter::Op::kEq && c.op != MeetFilter::Op::kNe) {
        return Fail(ErrorCode::kInvalidArgument, "field '" + c.field + "' takes = or != only");
      }
      c.text = c.type == FilterField::kCode ? ToLower(value.text) : value.text;
    }
    return c;
  };
  while (true) {
    std::vector<MeetFilter::Condition> group;
    group.push_back(TM_TRY(condition()));
    while (keyword("OR")) {
      ++pos;
      group.push_back(TM_TRY(condition()));
    }
    filter.groups_.push_back(std::move(group));
    if (pos == tokens.size()) break;
    if (!keyword("AND")) {
      return Fail(ErrorCode::kInvalidArgument,
                  "expected AND or OR in filter, found '" + peek().text + "'");
    }
    ++pos;
  }
  return filter;
}

bool MeetFilter::Holds(const Condition& c, const FilterValue& v) const {
  const bool null = std::holds_alternative<std::monostate>(v);
  if (c.op == Op::kIsNull) return null;
  if (c.op == Op::kIsNotNull) return !null;
  if (null) return false;
  if (c.type == FilterField::kTime) {
    const Instant* t = std::get_if<Instant>(&v);
    if (!t) return false;
    switch (c.op) {
      case Op::kEq:
        return *t == c.time;
      case Op::kNe:
        return *t != c.time;
      case Op::kLt:
        return *t < c.time;
      case Op::kLe:
        return *t <= c.time;
      case Op::kGt:
        return *t > c.time;
      case Op::kGe:
        return *t >= c.time;
      default:
        return false;
    }
  }
  const std::string* s = std::get_if<std::string>(&v);
  if (!s) return false;
  bool equal = c.type == FilterField::kCode ? ToLower(*s) == c.text : *s == c.text;
  return c.op == Op::kEq ? equal : !equal;
}

bool MeetFilter::Matches(const std::function<FilterValue(std::string_view)>& lookup) const {
  for (const auto& group : groups_) {
    bool any = false;
    for (const auto& c : group) {
      if (Holds(c, lookup(c.field))) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

}  // namespace telemeet::emulator
