#include "core/charts/charts.hpp"

#include <vtkFreeTypeTools.h>
#include <vtkImageData.h>
#include <vtkNew.h>
#include <vtkPNGWriter.h>
#include <vtkStdString.h>
#include <vtkTextProperty.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace metaeik::core {

namespace {

using Rgb = std::array<unsigned char, 3>;
constexpr Rgb kWhite{255, 255, 255}, kBlack{0, 0, 0}, kGrey{200, 200, 200};
// Colour-blind-friendly palette (Okabe–Ito).
constexpr Rgb kPalette[] = {{0, 114, 178},  {230, 159, 0}, {0, 158, 115},  {204, 121, 167},
                            {86, 180, 233}, {213, 94, 0},  {240, 228, 66}, {0, 0, 0}};

/// An RGB canvas with y pointing up (row 0 at the bottom, as vtkPNGWriter expects).
class Canvas {
 public:
  Canvas(int w, int h) : w_(w), h_(h) {
    image_->SetDimensions(w, h, 1);
    image_->AllocateScalars(VTK_UNSIGNED_CHAR, 3);
    fill_rect(0, 0, w, h, kWhite);
  }
  int width() const { return w_; }
  int height() const { return h_; }

  void set(int x, int y, const Rgb& c) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
    auto* p = static_cast<unsigned char*>(image_->GetScalarPointer(x, y, 0));
    p[0] = c[0], p[1] = c[1], p[2] = c[2];
  }
  void fill_rect(int x0, int y0, int x1, int y1, const Rgb& c) {
    for (int y = std::max(0, std::min(y0, y1)); y < std::min(h_, std::max(y0, y1)); ++y)
      for (int x = std::max(0, std::min(x0, x1)); x < std::min(w_, std::max(x0, x1)); ++x) set(x, y, c);
  }
  void line(int x0, int y0, int x1, int y1, const Rgb& c, int thickness = 1) {
    const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
      for (int t = -(thickness / 2); t <= thickness / 2; ++t)
        for (int u = -(thickness / 2); u <= thickness / 2; ++u) set(x0 + t, y0 + u, c);
      if (x0 == x1 && y0 == y1) break;
      const int e2 = 2 * err;
      if (e2 >= dy) err += dy, x0 += sx;
      if (e2 <= dx) err += dx, y0 += sy;
    }
  }
  /// Text anchored at (x, y): halign/valign 0 = left/bottom, 1 = centre, 2 = right/top.
  void text(const std::string& s, int x, int y, int size, int halign = 0, int valign = 0, double angle = 0,
            const Rgb& c = kBlack) {
    if (s.empty()) return;
    vtkNew<vtkTextProperty> prop;
    prop->SetFontFamilyToArial();
    prop->SetFontSize(size);
    prop->SetColor(c[0] / 255.0, c[1] / 255.0, c[2] / 255.0);
    prop->SetOrientation(angle);
    vtkNew<vtkImageData> img;
    if (!vtkFreeTypeTools::GetInstance()->RenderString(prop, vtkStdString(s), 72, img, nullptr)) return;
    int ext[6];
    img->GetExtent(ext);
    const int dims[2] = {ext[1] - ext[0] + 1, ext[3] - ext[2] + 1};
    const int ox = x - (halign * dims[0]) / 2, oy = y - (valign * dims[1]) / 2;
    const int nc = img->GetNumberOfScalarComponents();
    for (int j = 0; j < dims[1]; ++j)
      for (int i = 0; i < dims[0]; ++i) {
        const auto* p = static_cast<unsigned char*>(img->GetScalarPointer(ext[0] + i, ext[2] + j, ext[4]));
        const double a = nc == 4 ? p[3] / 255.0 : 1.0;
        if (a <= 0) continue;
        const int X = ox + i, Y = oy + j;
        if (X < 0 || Y < 0 || X >= w_ || Y >= h_) continue;
        auto* q = static_cast<unsigned char*>(image_->GetScalarPointer(X, Y, 0));
        for (int k = 0; k < 3; ++k) q[k] = static_cast<unsigned char>(q[k] * (1 - a) + p[k] * a);
      }
  }
  void save(const std::filesystem::path& png) {
    core::write_atomically(png, [&](const std::filesystem::path& tmp) {
      vtkNew<vtkPNGWriter> writer;
      writer->SetFileName(tmp.string().c_str());
      writer->SetInputData(image_);
      writer->Write();
      METAEIK_CHECK(writer->GetErrorCode() == 0 && std::filesystem::exists(tmp), png.string()
                                                                                     << ": cannot write PNG");
    });
  }

 private:
  int w_, h_;
  vtkNew<vtkImageData> image_;
};

std::string tick_label(double v) {
  char buf[32];
  if (v != 0 && (std::abs(v) < 1e-2 || std::abs(v) >= 1e4))
    std::snprintf(buf, sizeof buf, "%.0e", v);
  else
    std::snprintf(buf, sizeof buf, "%g", std::round(v * 1e6) / 1e6);
  return buf;
}

/// "Nice" tick step for a range (1, 2 or 5 × 10^k), about 5 ticks.
double nice_step(double range) {
  const double raw = range / 5.0;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

/// Plot frame: margins, y axis with ticks and grid, title and y label. Returns a y→pixel map.
struct Frame {
  int left = 90, right = 30, bottom = 90, top = 60;
  double lo = 0, hi = 1;
  int x0() const { return left; }
  int y0() const { return bottom; }
  int py(const Canvas& c, double v) const {
    return y0() + int((v - lo) / (hi - lo) * (c.height() - top - bottom));
  }
};

void draw_axes(Canvas& c, Frame& f, const std::string& title, const std::string& y_label, bool log_y) {
  double step = nice_step(f.hi - f.lo);
  if (log_y) step = std::max(1.0, std::round(step));  // decades only
  f.lo = std::floor(f.lo / step) * step;
  f.hi = std::ceil(f.hi / step - 1e-9) * step;
  for (double v = f.lo; v <= f.hi + 1e-9 * step; v += step) {
    const int y = f.py(c, v);
    c.line(f.x0(), y, c.width() - f.right, y, kGrey);
    c.text(log_y ? "1e" + tick_label(v) : tick_label(v), f.x0() - 8, y, 14, 2, 1);
  }
  c.line(f.x0(), f.y0(), f.x0(), c.height() - f.top, kBlack);
  c.line(f.x0(), f.y0(), c.width() - f.right, f.y0(), kBlack);
  c.text(title, c.width() / 2, c.height() - 20, 20, 1, 1);
  c.text(y_label, 22, (f.y0() + c.height() - f.top) / 2, 16, 1, 1, 90);
}

void legend(Canvas& c, const std::vector<std::string>& names, int y) {
  int x = 100;
  for (std::size_t s = 0; s < names.size(); ++s) {
    c.fill_rect(x, y - 6, x + 16, y + 8, kPalette[s % std::size(kPalette)]);
    c.text(names[s], x + 22, y, 14, 0, 1);
    x += 40 + 9 * int(names[s].size());
  }
}

/// An axis range to draw: [0, 1] when no finite value was seen, one unit wide when it is empty.
void usable_range(double& lo, double& hi) {
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi <= lo) hi = lo + 1;
}

}  // namespace

void write_bar_chart(const std::filesystem::path& png, const std::string& title, const std::string& y_label,
                     const std::vector<std::string>& groups, const std::vector<BarSeries>& series) {
  METAEIK_CHECK(!groups.empty() && !series.empty(), png.string() << ": bar chart needs groups and series");
  Canvas c(std::max(600, 140 + int(groups.size() * (series.size() * 28 + 40))), 480);
  Frame f;
  f.lo = 0;
  f.hi = -std::numeric_limits<double>::infinity();
  for (const auto& s : series) {
    METAEIK_CHECK(s.values.size() == groups.size(), png.string() << ": series '" << s.name << "' has "
                                                                 << s.values.size() << " values for "
                                                                 << groups.size() << " groups");
    for (std::size_t g = 0; g < groups.size(); ++g) {
      if (!std::isfinite(s.values[g])) continue;
      const double e = s.errors.empty() ? 0.0 : s.errors[g];
      f.hi = std::max(f.hi, s.values[g] + (std::isfinite(e) ? e : 0.0));
      f.lo = std::min(f.lo, s.values[g] - (std::isfinite(e) ? e : 0.0));
    }
  }
  if (!std::isfinite(f.hi) || f.hi <= f.lo) f.hi = f.lo + 1;
  draw_axes(c, f, title, y_label, false);
  const double group_w = double(c.width() - f.left - f.right) / groups.size();
  const double bar_w = std::min(40.0, 0.8 * group_w / series.size());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const double gx = f.left + g * group_w + 0.5 * (group_w - bar_w * series.size());
    for (std::size_t s = 0; s < series.size(); ++s) {
      const double v = series[s].values[g];
      const int x0 = int(gx + s * bar_w), x1 = int(gx + (s + 1) * bar_w) - 2;
      if (!std::isfinite(v)) {
        c.text("n/a", (x0 + x1) / 2, f.py(c, 0) + 4, 11, 1, 0, 90);
        continue;
      }
      c.fill_rect(x0, f.py(c, 0), x1, f.py(c, v), kPalette[s % std::size(kPalette)]);
      if (!series[s].errors.empty() && std::isfinite(series[s].errors[g]) && series[s].errors[g] > 0) {
        const int xm = (x0 + x1) / 2, ylo = f.py(c, v - series[s].errors[g]),
                  yhi = f.py(c, v + series[s].errors[g]);
        c.line(xm, ylo, xm, yhi, kBlack);
        c.line(xm - 4, ylo, xm + 4, ylo, kBlack);
        c.line(xm - 4, yhi, xm + 4, yhi, kBlack);
      }
    }
    c.text(groups[g], int(f.left + (g + 0.5) * group_w), f.y0() - 10, 14, 1, 2);
  }
  std::vector<std::string> names;
  for (const auto& s : series) names.push_back(s.name);
  legend(c, names, 30);
  c.save(png);
}

void write_line_chart(const std::filesystem::path& png, const std::string& title, const std::string& x_label,
                      const std::string& y_label, const std::vector<LineSeries>& series, bool log_y) {
  METAEIK_CHECK(!series.empty(), png.string() << ": line chart needs at least one series");
  Canvas c(800, 480);
  Frame f;
  double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo;
  f.lo = xlo, f.hi = xhi;
  auto yv = [&](double y) { return log_y ? std::log10(y) : y; };
  for (const auto& s : series) {
    METAEIK_CHECK(s.x.size() == s.y.size(), png.string()
                                                << ": series '" << s.name << "' has mismatched x and y");
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i]) || (log_y && s.y[i] <= 0)) continue;
      xlo = std::min(xlo, s.x[i]), xhi = std::max(xhi, s.x[i]);
      f.lo = std::min(f.lo, yv(s.y[i])), f.hi = std::max(f.hi, yv(s.y[i]));
    }
  }
  usable_range(xlo, xhi);
  usable_range(f.lo, f.hi);
  draw_axes(c, f, title, y_label, log_y);
  const int plot_w = c.width() - f.left - f.right;
  auto px = [&](double x) { return f.left + int((x - xlo) / (xhi - xlo) * plot_w); };
  const double xstep = nice_step(xhi - xlo);
  for (double x = std::ceil(xlo / xstep) * xstep; x <= xhi + 1e-9 * xstep; x += xstep)
    c.text(tick_label(x), px(x), f.y0() - 8, 14, 1, 2);
  c.text(x_label, f.left + plot_w / 2, f.y0() - 40, 16, 1, 1);
  for (std::size_t s = 0; s < series.size(); ++s) {
    int last_x = -1, last_y = -1;
    for (std::size_t i = 0; i < series[s].x.size(); ++i) {
      const double y = series[s].y[i];
      if (!std::isfinite(y) || (log_y && y <= 0)) continue;
      const int X = px(series[s].x[i]), Y = f.py(c, yv(y));
      if (last_x >= 0) c.line(last_x, last_y, X, Y, kPalette[s % std::size(kPalette)], 2);
      last_x = X, last_y = Y;
    }
  }
  std::vector<std::string> names;
  for (const auto& s : series) names.push_back(s.name);
  legend(c, names, 30);
  c.save(png);
}

void write_scatter_chart(const std::filesystem::path& png, const std::string& title,
                         const std::string& x_label, const std::string& y_label,
                         const std::vector<ScatterSeries>& series, bool log_x, bool log_y) {
  METAEIK_CHECK(!series.empty(), png.string() << ": scatter chart needs at least one series");
  Canvas c(800, 520);
  Frame f;
  auto xv = [&](double x) { return log_x ? std::log10(x) : x; };
  auto yv = [&](double y) { return log_y ? std::log10(y) : y; };
  auto usable = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!log_x || x > 0) && (!log_y || y > 0);
  };
  double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo;
  f.lo = xlo, f.hi = xhi;
  for (const auto& s : series) {
    METAEIK_CHECK(s.x.size() == s.y.size(), png.string()
                                                << ": series '" << s.name << "' has mismatched x and y");
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!usable(s.x[i], s.y[i])) continue;
      xlo = std::min(xlo, xv(s.x[i])), xhi = std::max(xhi, xv(s.x[i]));
      f.lo = std::min(f.lo, yv(s.y[i])), f.hi = std::max(f.hi, yv(s.y[i]));
    }
  }
  usable_range(xlo, xhi);
  if (log_x) xlo = std::floor(xlo), xhi = std::ceil(xhi - 1e-9);
  if (xhi <= xlo) xhi = xlo + 1;
  usable_range(f.lo, f.hi);
  draw_axes(c, f, title, y_label, log_y);
  const int plot_w = c.width() - f.left - f.right;
  auto px = [&](double x) { return f.left + int((x - xlo) / (xhi - xlo) * plot_w); };
  const double xstep = log_x ? std::max(1.0, std::round(nice_step(xhi - xlo))) : nice_step(xhi - xlo);
  for (double x = std::ceil(xlo / xstep) * xstep; x <= xhi + 1e-9 * xstep; x += xstep)
    c.text(log_x ? "1e" + tick_label(x) : tick_label(x), px(x), f.y0() - 8, 14, 1, 2);
  c.text(x_label, f.left + plot_w / 2, f.y0() - 40, 16, 1, 1);
  for (std::size_t s = 0; s < series.size(); ++s) {
    const Rgb& colour = kPalette[s % std::size(kPalette)];
    int last_x = -1, last_y = -1;
    for (std::size_t i = 0; i < series[s].x.size(); ++i) {
      if (!usable(series[s].x[i], series[s].y[i])) continue;
      const int X = px(xv(series[s].x[i])), Y = f.py(c, yv(series[s].y[i]));
      if (series[s].line) {
        if (last_x >= 0) c.line(last_x, last_y, X, Y, colour, 2);
        c.fill_rect(X - 2, Y - 2, X + 3, Y + 3, colour);
        last_x = X, last_y = Y;
      } else {
        c.fill_rect(X - 3, Y - 3, X + 4, Y + 4, colour);
      }
    }
  }
  std::vector<std::string> names;
  for (const auto& s : series) names.push_back(s.name);
  legend(c, names, 30);
  c.save(png);
}

void write_line_chart_grid(const std::filesystem::path& png, const std::string& title,
                           const std::string& x_label, int rows, int cols,
                           const std::vector<LinePanel>& panels) {
  METAEIK_CHECK(rows > 0 && cols > 0 && int(panels.size()) <= rows * cols && !panels.empty(),
                png.string() << ": chart grid of " << rows << "x" << cols << " cannot hold " << panels.size()
                             << " panels");
  const int pw = 360, ph = 240, top = 60, bottom = 70, left = 20;
  Canvas c(left + cols * pw, bottom + rows * ph + top);
  for (std::size_t p = 0; p < panels.size(); ++p) {
    const int col = int(p) % cols, row = int(p) / cols;
    // Panel plot area in canvas pixels (y up): margins for ticks and the panel title.
    const int x0 = left + col * pw + 62, x1 = left + (col + 1) * pw - 12;
    const int y0 = bottom + (rows - 1 - row) * ph + 30, y1 = bottom + (rows - row) * ph - 26;
    double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo, ylo = xlo, yhi = -xlo;
    for (const auto& s : panels[p].series) {
      METAEIK_CHECK(s.x.size() == s.y.size(), png.string()
                                                  << ": series '" << s.name << "' has mismatched x and y");
      for (std::size_t i = 0; i < s.x.size(); ++i) {
        if (!std::isfinite(s.y[i])) continue;
        xlo = std::min(xlo, s.x[i]), xhi = std::max(xhi, s.x[i]);
        ylo = std::min(ylo, s.y[i]), yhi = std::max(yhi, s.y[i]);
      }
    }
    if (!std::isfinite(xlo)) xlo = 0, xhi = 1, ylo = 0, yhi = 1;
    if (xhi <= xlo) xhi = xlo + 1;
    if (yhi <= ylo) yhi = ylo + std::max(1e-12, std::abs(ylo) * 1e-3);
    const double ystep = nice_step(yhi - ylo);
    ylo = std::floor(ylo / ystep) * ystep, yhi = std::ceil(yhi / ystep - 1e-9) * ystep;
    auto px = [&](double x) { return x0 + int((x - xlo) / (xhi - xlo) * (x1 - x0)); };
    auto py = [&](double y) { return y0 + int((y - ylo) / (yhi - ylo) * (y1 - y0)); };
    for (double v = ylo; v <= yhi + 1e-9 * ystep; v += ystep) {
      c.line(x0, py(v), x1, py(v), kGrey);
      c.text(tick_label(v), x0 - 5, py(v), 11, 2, 1);
    }
    const double xstep = nice_step(xhi - xlo);
    for (double x = std::ceil(xlo / xstep) * xstep; x <= xhi + 1e-9 * xstep; x += xstep)
      c.text(tick_label(x), px(x), y0 - 5, 11, 1, 2);
    c.line(x0, y0, x0, y1, kBlack);
    c.line(x0, y0, x1, y0, kBlack);
    c.text(panels[p].title, (x0 + x1) / 2, y1 + 14, 13, 1, 1);
    c.text(panels[p].y_label, x0 - 48, (y0 + y1) / 2, 11, 1, 1, 90);
    for (std::size_t s = 0; s < panels[p].series.size(); ++s) {
      const auto& ser = panels[p].series[s];
      int lx = -1, ly = -1;
      for (std::size_t i = 0; i < ser.x.size(); ++i) {
        if (!std::isfinite(ser.y[i])) {
          lx = -1;
          continue;
        }
        const int X = px(ser.x[i]), Y = py(ser.y[i]);
        if (lx >= 0) c.line(lx, ly, X, Y, kPalette[s % std::size(kPalette)], 1);
        lx = X, ly = Y;
      }
    }
  }
  c.text(title, c.width() / 2, c.height() - 20, 20, 1, 1);
  c.text(x_label, c.width() / 2, 45, 16, 1, 1);
  std::vector<std::string> names;
  for (const auto& s : panels.front().series) names.push_back(s.name);
  legend(c, names, 15);
  c.save(png);
}

}  // namespace metaeik::core
