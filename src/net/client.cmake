# The HTTP client: libcurl's multi interface on a private thread.
telemeet_library(telemeet_http_client
  SOURCES http_client.cc destination_policy.cc
  DEPS telemeet_net
  PRIVATE_DEPS CURL::libcurl Threads::Threads)

telemeet_test(http_client_test
  SOURCES http_client_test.cc destination_policy_test.cc
  DEPS telemeet_http_client)
