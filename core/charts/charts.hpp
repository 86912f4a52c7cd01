#pragma once
// PNG charts for people who would rather look than read: grouped bar charts with error bars
// (metric comparisons) and line charts (training curves). Rendered off-screen with VTK's
// FreeType text rendering and PNG writer — no display or OpenGL needed.

#include <filesystem>
#include <string>
#include <vector>

namespace metaeik::core {

struct BarSeries {
  std::string name;            ///< legend entry (e.g. a method)
  std::vector<double> values;  ///< one per group; NaN = no bar (e.g. "n/a")
  std::vector<double> errors;  ///< optional ± error bar per group (same size or empty)
};

/// Grouped bars: one group per entry of `groups` (e.g. metrics), one bar per series in each group.
void write_bar_chart(const std::filesystem::path& png, const std::string& title, const std::string& y_label,
                     const std::vector<std::string>& groups, const std::vector<BarSeries>& series);

struct LineSeries {
  std::string name;
  std::vector<double> x, y;
};

/// Lines over a shared x axis; `log_y` plots log10 of positive y values.
void write_line_chart(const std::filesystem::path& png, const std::string& title, const std::string& x_label,
                      const std::string& y_label, const std::vector<LineSeries>& series, bool log_y = false);

struct ScatterSeries {
  std::string name;
  std::vector<double> x, y;
  bool line = false;  ///< join the points (in the given order) instead of drawing markers
};

/// Points (or joined points) over numeric x and y axes; `log_x`/`log_y` plot log10 of positive values.
void write_scatter_chart(const std::filesystem::path& png, const std::string& title,
                         const std::string& x_label, const std::string& y_label,
                         const std::vector<ScatterSeries>& series, bool log_x = false, bool log_y = false);

/// One panel of a chart grid.
struct LinePanel {
  std::string title, y_label;
  std::vector<LineSeries> series;
};

/// Panels in a rows × cols grid (row-major), a shared x label and one legend (the series names
/// of the first panel; every panel should use the same series order, hence the same colours).
void write_line_chart_grid(const std::filesystem::path& png, const std::string& title,
                           const std::string& x_label, int rows, int cols,
                           const std::vector<LinePanel>& panels);

}  // namespace metaeik::core
