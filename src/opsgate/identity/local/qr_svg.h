// File: opsgate/identity/local/qr_svg.h
//
// Renders text (an otpauth:// enrolment URI) as a QR code in a minimal, self-contained
// SVG: one <path> of unit squares on a white <rect>, a 4-module quiet zone, no scripts,
// fonts, images or external references, so it can be inlined into a page with a strict
// Content-Security-Policy. Encoding is libqrencode's (8-bit mode, error correction M).
//
// Thread-safety: pure function (libqrencode is reentrant).
#pragma once

#include <string>
#include <string_view>

#include "opsgate/core/result.h"

namespace opsgate::identity::local {

// The SVG document for `text`; each module is `module_px` user units wide (1..64).
// Errors: kInvalidArgument for empty text, text over 2048 bytes or a bad module size;
// kInternal if libqrencode fails.
[[nodiscard]] core::Result<std::string> QrCodeSvg(std::string_view text, int module_px = 4);

}  // namespace opsgate::identity::local
