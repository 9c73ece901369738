# Writes a .cc holding the OpenAPI document as a string (run at build time by CMakeLists.txt):
#   cmake -DIN=openapi.json -DOUT=openapi_embed.cc -P embed.cmake
file(READ "${IN}" content)
file(WRITE "${OUT}.tmp"
  "// Generated from src/api/openapi.json by src/api/embed.cmake. Do not edit.\n"
  "#include <string_view>\n"
  "namespace telemeet::api {\n"
  "extern const std::string_view kOpenApiJson;\n"
  "const std::string_view kOpenApiJson = R\"telemeet_openapi(${content})telemeet_openapi\";\n"
  "}  // namespace telemeet::api\n")
file(RENAME "${OUT}.tmp" "${OUT}")
