#pragma once
// Exceptions thrown by xraykit. Every public function reports failure by throwing one of
// these; the message always names the thing that is wrong (a file, a field, a token).
// The C ABI and the Python module translate them at their boundary through kind(), one
// table each instead of a ladder of catch clauses. The classes are exported so that a
// program linking libxraykit can catch them by type.
#include <stdexcept>
#include <string>

#include "xraykit/export.hpp"

namespace xraykit {

/// What went wrong, for shells that map errors to their own codes or exception classes.
enum class ErrorKind { Other, InvalidArgument, Io, Image, Dataset, Model };

/// Base of every xraykit exception. Errors about one file carry its path and the reason
/// apart (what() is "PATH: REASON"), so that callers listing many files need not cut
/// messages apart.
class XRAYKIT_API Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message), reason_(message) {}
  Error(const std::string& reason, const std::string& path)
      : std::runtime_error(path + ": " + reason), reason_(reason), path_(path) {}
  /// What is wrong, without the path (the whole message when there is no path).
  const std::string& reason() const noexcept { return reason_; }
  /// The file the error is about; empty when it is not about one file.
  const std::string& path() const noexcept { return path_; }
  virtual ErrorKind kind() const noexcept { return ErrorKind::Other; }

 private:
  std::string reason_, path_;
};

/// An argument or option is out of range or malformed (bad spec, bad fraction, ...).
class XRAYKIT_API InvalidArgument : public Error {
 public:
  using Error::Error;
  ErrorKind kind() const noexcept override { return ErrorKind::InvalidArgument; }
};

/// A file or folder could not be read or written.
class XRAYKIT_API IoError : public Error {
 public:
  using Error::Error;
  ErrorKind kind() const noexcept override { return ErrorKind::Io; }
};

/// Bytes that should be an image are not a decodable image of an accepted size.
class XRAYKIT_API ImageError : public Error {
 public:
  using Error::Error;
  ErrorKind kind() const noexcept override { return ErrorKind::Image; }
};

/// A dataset cannot be built or used as asked (empty tree, one class, unknown label, ...).
class XRAYKIT_API DatasetError : public Error {
 public:
  using Error::Error;
  ErrorKind kind() const noexcept override { return ErrorKind::Dataset; }
};

/// A model file is not an xraykit model, is truncated, or does not fit the request.
class XRAYKIT_API ModelError : public Error {
 public:
  using Error::Error;
  ErrorKind kind() const noexcept override { return ErrorKind::Model; }
};

}  // namespace xraykit
