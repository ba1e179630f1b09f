#pragma once
// Umbrella header: the whole public C++ API of xraykit.
//   Dataset -> Augmenter -> ResNetClassifier::fit -> Evaluator
#include "xraykit/error.hpp"
#include "xraykit/image.hpp"
#include "xraykit/dataset.hpp"
#include "xraykit/augment.hpp"
#include "xraykit/metrics.hpp"
#include "xraykit/classifier.hpp"
#include "xraykit/autoselect.hpp"
#include "xraykit/model_card.hpp"
#include "xraykit/evaluator.hpp"
#include "xraykit/shift.hpp"
#include "xraykit/version.hpp"
