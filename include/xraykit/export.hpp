#pragma once
// Symbol visibility: the library is built with hidden visibility; only what is marked
// XRAYKIT_API is part of the shared library's interface.
#if defined(_WIN32)
#define XRAYKIT_API __declspec(dllexport)
#else
#define XRAYKIT_API __attribute__((visibility("default")))
#endif
