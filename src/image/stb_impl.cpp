// The one translation unit that compiles the stb_image implementation from Debian's
// libstb-dev headers. Limited to the formats xraykit reads with it (PNG, BMP; JPEGs go to
// libjpeg-turbo, see image_decode.cpp), so that less code parses untrusted bytes. Visibility is hidden: these symbols do not leave libxraykit.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#include <stb_image.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb_image_write.h>
