#pragma once
// Exceptions thrown by xraykit. Every public function reports failure by throwing one of
// these; the message always names the thing that is wrong (a file, a field, a token).
// The C ABI and the Python module translate them at their boundary. The classes are
// exported so that a program linking libxraykit can catch them by type.
#include <stdexcept>
#include <string>

#include "xraykit/export.hpp"

namespace xraykit {

/// Base of every xraykit exception.
class XRAYKIT_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An argument or option is out of range or malformed (bad spec, bad fraction, ...).
class XRAYKIT_API InvalidArgument : public Error {
 public:
  using Error::Error;
};

/// A file or folder could not be read or written.
class XRAYKIT_API IoError : public Error {
 public:
  using Error::Error;
};

/// Bytes that should be an image are not a decodable image of an accepted size.
class XRAYKIT_API ImageError : public Error {
 public:
  using Error::Error;
};

/// A dataset cannot be built or used as asked (empty tree, one class, unknown label, ...).
class XRAYKIT_API DatasetError : public Error {
 public:
  using Error::Error;
};

/// A model file is not an xraykit model, is truncated, or does not fit the request.
class XRAYKIT_API ModelError : public Error {
 public:
  using Error::Error;
};

/// Training was cancelled by the progress callback (not a failure of the data or model).
class XRAYKIT_API Cancelled : public Error {
 public:
  using Error::Error;
};

}  // namespace xraykit
