#include "opsgate/identity/local/qr_svg.h"

#include <qrencode.h>

#include <memory>

namespace opsgate::identity::local {
namespace {

struct QrDeleter {
  void operator()(QRcode* q) const { QRcode_free(q); }
};

constexpr int kQuietZone = 4;

}  // namespace

core::Result<std::string> QrCodeSvg(std::string_view text, int module_px) {
  if (text.empty() || text.size() > 2048) {
    return core::Fail(core::InvalidArgument("QR code text must be 1..2048 bytes"));
  }
  if (module_px < 1 || module_px > 64) {
    return core::Fail(core::InvalidArgument("QR module size must be 1..64"));
  }
  // QRcode_encodeString wants a NUL-terminated string.
  const std::string input(text);
  std::unique_ptr<QRcode, QrDeleter> qr(
      QRcode_encodeString(input.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, /*casesensitive=*/1));
  if (!qr) {
    return core::Fail(core::Internal("libqrencode could not encode the enrolment URI"));
  }
  const int width = qr->width;
  const int size = (width + 2 * kQuietZone) * module_px;
  std::string path;
  path.reserve(static_cast<size_t>(width) * static_cast<size_t>(width) * 4);
  // Runs of dark modules in a row become one rectangle, which keeps the path short.
  for (int y = 0; y < width; ++y) {
    int x = 0;
    while (x < width) {
      if ((qr->data[y * width + x] & 1) == 0) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < width && (qr->data[y * width + x + run] & 1) != 0) {
        ++run;
      }
      path += "M" + std::to_string(x + kQuietZone) + " " + std::to_string(y + kQuietZone) +
              "h" + std::to_string(run) + "v1h-" + std::to_string(run) + "z";
      x += run;
    }
  }
  const std::string units = std::to_string(width + 2 * kQuietZone);
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(size) +
         "\" height=\"" + std::to_string(size) + "\" viewBox=\"0 0 " + units + " " + units +
         "\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"TOTP enrolment QR code\">"
         "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path fill=\"#000\" d=\"" + path +
         "\"/></svg>";
}

}  // namespace opsgate::identity::local
