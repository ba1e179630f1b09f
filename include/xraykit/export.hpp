#pragma once
// Symbol visibility: the library is built with hidden visibility; only what is marked
// XRAYKIT_API is part of the shared library's interface. On Windows the library exports what
// it defines (XRAYKIT_BUILDING is set while building it) and its users import it.
#if defined(_WIN32)
#if defined(XRAYKIT_BUILDING)
#define XRAYKIT_API __declspec(dllexport)
#else
#define XRAYKIT_API __declspec(dllimport)
#endif
#else
#define XRAYKIT_API __attribute__((visibility("default")))
#endif
