// A push notification's headers as the receiver reads them (push.h), as one fuzz entry point.
// The input is the notification as text (a request line and headers; net/testing/http_text.h).
// The property checked: any headers give a PushNotification that keeps push.h's rules (a
// channel id of 1-64 visible characters, a token of at most 256, the state read as its name
// says) and reads the same when written back as headers, or a kInvalidArgument error naming the
// X-Goog- header at fault; never a crash, an exception, undefined behaviour or a hang.
//
// Drivers and seeds as in answers_fuzz.h: push_fuzz_test.cc, push_fuzz_main.cc
// (`scripts/fuzz.sh google_push_fuzzer SECONDS`), fuzz_corpus/push/ (the emulator's real
// notifications).
#pragma once

#include <string_view>

namespace telemeet::google {

// Aborts when a property above is violated (so a fuzzer reports it as a crash).
void FuzzPushNotification(std::string_view http_request);

}  // namespace telemeet::google
