/* SPDX-License-Identifier: BSD-3-Clause */
/* The helpers every layer shares now live below all of them, in src/util. */
#include "util/common.h"
