# One helper per kind of target. Every library declares its own dependencies explicitly.
#
#   telemeet_library(telemeet_net SOURCES a.cc b.cc DEPS telemeet_base PRIVATE_DEPS Boost::boost)
#   telemeet_test(net_test SOURCES router_test.cc DEPS telemeet_net)
#   telemeet_program(telemeet SOURCES main.cc DEPS telemeet_app)

add_library(telemeet_options INTERFACE)
target_compile_options(telemeet_options INTERFACE -Wall -Wextra -Werror
  # Designated initializers that leave members at their defaults are house style
  # (`Options{.threads = 4}`); g++ 12's -Wextra would flag each of them.
  -Wno-missing-field-initializers
  # g++ 12 at -O2 reports false positives inside Asio coroutine frames and libstdc++'s string
  # code; they stay visible as warnings.
  $<$<NOT:$<CONFIG:Debug>>:-Wno-error=mismatched-new-delete -Wno-error=restrict
                           -Wno-error=maybe-uninitialized>)
target_include_directories(telemeet_options INTERFACE "${PROJECT_SOURCE_DIR}/src"
                                                      "${PROJECT_SOURCE_DIR}")
if(TELEMEET_SANITIZE)
  target_compile_options(telemeet_options INTERFACE -fsanitize=${TELEMEET_SANITIZE}
                                                    -fno-omit-frame-pointer -fno-sanitize-recover=all)
  if(TELEMEET_SANITIZE MATCHES "thread")
    # g++ warns that std::atomic_thread_fence is not instrumented (used inside Asio).
    target_compile_options(telemeet_options INTERFACE -Wno-tsan)
  endif()
  target_link_options(telemeet_options INTERFACE -fsanitize=${TELEMEET_SANITIZE})
endif()

function(telemeet_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_link_libraries(${name} PUBLIC telemeet_options ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

function(telemeet_program name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE telemeet_options ${ARG_DEPS})
endfunction()

# A GoogleTest binary; each TEST becomes one CTest test, discovered when the tests run.
# LABELS tags them (unit, integration, postgres) so scripts/test.sh can select; PROPERTIES are
# further CTest properties for every test (e.g. FIXTURES_REQUIRED postgres).
function(telemeet_test name)
  if(NOT TELEMEET_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS;PROPERTIES" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE telemeet_options ${ARG_DEPS} GTest::gtest GTest::gmock
                                        GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 30
                       PROPERTIES LABELS "${ARG_LABELS}" ${ARG_PROPERTIES})
endfunction()

# A libFuzzer target (clang only; the `fuzz` preset turns TELEMEET_FUZZERS on). SOURCES are the
# code under test and its harness, compiled with libFuzzer's coverage instrumentation
# (fuzzer-no-link) and linked alone, not the layers' libraries whole, so that each fuzzer
# builds in seconds in CI; the link proves the list complete. The sources every fuzzer needs
# (errors, strings, HTTP types, JSON, net/testing/http_text) are telemeet_fuzz_common's, built
# once. MAIN holds LLVMFuzzerTestOneInput and links libFuzzer. The `fuzzers` target builds all.
if(TELEMEET_FUZZERS)
  add_custom_target(fuzzers)
endif()
function(telemeet_fuzzer name)
  if(NOT TELEMEET_FUZZERS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "MAIN" "SOURCES;LIBS" ${ARGN})
  add_library(${name}_code STATIC ${ARG_SOURCES})
  target_link_libraries(${name}_code PUBLIC telemeet_options telemeet_fuzz_common ${ARG_LIBS})
  # -Wno-deprecated-declarations: libstdc++ 12's std::stable_sort calls get_temporary_buffer,
  # which clang 19 flags under C++23.
  target_compile_options(${name}_code PRIVATE -fsanitize=fuzzer-no-link
                                              -Wno-deprecated-declarations)
  add_executable(${name} ${ARG_MAIN})
  target_link_libraries(${name} PRIVATE telemeet_options ${name}_code)
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  add_dependencies(fuzzers ${name})
endfunction()
