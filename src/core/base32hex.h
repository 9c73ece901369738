// Base32hex (RFC 4648 §7, "extended hex" alphabet) in lowercase without padding: the alphabet
// Google Calendar accepts in event ids (a-v, 0-9). Core has no crypto dependency, so the codec
// lives here.
//
//   std::string id = Base32HexEncode("appointment-42");       // "c5o70rrf..."
//   Result<std::string> raw = Base32HexDecode(id);            // "appointment-42"
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace telemeet::core {

// Lowercase 0-9a-v, no padding.
std::string Base32HexEncode(std::string_view bytes);

// Accepts lowercase or uppercase, no padding. kInvalidArgument on a character outside the
// alphabet or a length that no encoding produces.
Result<std::string> Base32HexDecode(std::string_view text);

}  // namespace telemeet::core
