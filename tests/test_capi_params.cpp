// The C ABI's params structs across versions: a caller built against an older header passes
// a smaller struct_size, and the fields it does not know keep their defaults.
#include <doctest/doctest.h>

#include <cstddef>

#include "handles.hpp"

TEST_CASE("C params: fields past an older caller's struct_size keep their defaults") {
  const xrk_train_params defaults = xrk_train_default_params();
  xrk_train_params p = defaults;
  p.epochs = 3;
  p.mixup = 5;  // set, but past the struct_size of a caller from before them
  p.ema = 0.5;
  p.cutmix = 0.7;
  p.stochastic_depth = 0.3;
  auto as_given = [&](std::size_t size) {
    p.struct_size = static_cast<decltype(p.struct_size)>(size);
    return xrk::params_or_default(&p, defaults);
  };
  const xrk_train_params v02 = as_given(offsetof(xrk_train_params, mixup));
  CHECK(v02.epochs == 3);
  CHECK(v02.mixup == 0.0);
  CHECK(v02.ema == 0.0);
  CHECK(v02.struct_size == sizeof(xrk_train_params));
  const xrk_train_params with_mixup = as_given(offsetof(xrk_train_params, ema));
  CHECK(with_mixup.mixup == 5.0);
  CHECK(with_mixup.ema == 0.0);
  const xrk_train_params with_ema = as_given(offsetof(xrk_train_params, cutmix));
  CHECK(with_ema.ema == 0.5);
  CHECK(with_ema.cutmix == 0.0);
  const xrk_train_params with_cutmix = as_given(offsetof(xrk_train_params, stochastic_depth));
  CHECK(with_cutmix.cutmix == 0.7);
  CHECK(with_cutmix.stochastic_depth == 0.0);
  const xrk_train_params whole = as_given(sizeof(xrk_train_params));
  CHECK(whole.ema == 0.5);
  CHECK(whole.cutmix == 0.7);
  CHECK(whole.stochastic_depth == 0.3);
  CHECK_THROWS_AS(as_given(0), xrk::Failure);
}
