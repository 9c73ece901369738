// A batch answer as CalendarClient::ExecuteBatch reads it, as one fuzz entry point. The input is
// an HTTP response as text (net/testing/http_text.h) whose Content-Type names the multipart
// boundary; DecodeBatch splits it and every part goes on as ExecuteBatch sends it: a 2xx part to
// ParseEvent, any other to GoogleError::FromResponse. The property checked: any answer gives its
// parts or a kBadResponse GoogleError, never a crash, an exception, undefined behaviour or a
// hang; every part has a status from 100 to 599, and there are never more parts than the body
// has boundary lines.
//
// Drivers and seeds as in answers_fuzz.h: batch_fuzz_test.cc, batch_fuzz_main.cc
// (`scripts/fuzz.sh google_batch_fuzzer SECONDS`), fuzz_corpus/batch/.
#pragma once

#include <string_view>

namespace telemeet::google {

// Aborts when a property above is violated (so a fuzzer reports it as a crash).
void FuzzGoogleBatchAnswer(std::string_view http_response);

}  // namespace telemeet::google
