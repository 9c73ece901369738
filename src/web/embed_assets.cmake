# Writes a .cc holding the web UI's static files (run at build time by CMakeLists.txt):
#   cmake -DOUT=web_assets_embed.cc -DDIR=assets -DFILES="signin.html;app.css" -P embed_assets.cmake
# Each file becomes one raw string literal; the build fails if a file contains the delimiter.
set(delim "telemeet_asset")
set(body "")
foreach(name IN LISTS FILES)
  file(READ "${DIR}/${name}" content)
  string(FIND "${content}" ")${delim}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${name} contains the raw string delimiter )${delim}\"")
  endif()
  string(APPEND body "    {\"${name}\", R\"${delim}(${content})${delim}\"},\n")
endforeach()
file(WRITE "${OUT}.tmp"
  "// Generated from src/web/assets by src/web/embed_assets.cmake. Do not edit.\n"
  "#include \"web/assets.h\"\n"
  "namespace telemeet::web {\n"
  "const std::vector<EmbeddedFile>& EmbeddedFiles() {\n"
  "  static const std::vector<EmbeddedFile> files = {\n"
  "${body}"
  "  };\n"
  "  return files;\n"
  "}\n"
  "}  // namespace telemeet::web\n")
file(RENAME "${OUT}.tmp" "${OUT}")
