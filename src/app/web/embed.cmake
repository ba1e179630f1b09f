# Turns the web assets into C++ string constants (assets.cpp), so that the binary serves its
# pages itself: no files to deploy, no CDN.
file(WRITE ${OUT} "// Generated from src/web/assets by embed.cmake.\n#include \"assets.hpp\"\nnamespace xraykit::web::assets {\n")
string(REPLACE "|" ";" FILES "${FILES}")
foreach(pair ${FILES})
  string(REPLACE "=" ";" kv ${pair})
  list(GET kv 0 name)
  list(GET kv 1 path)
  file(READ ${path} content)
  file(APPEND ${OUT} "const char* const ${name} = R\"XRKASSET(${content})XRKASSET\";\n")
endforeach()
file(APPEND ${OUT} "}  // namespace xraykit::web::assets\n")
