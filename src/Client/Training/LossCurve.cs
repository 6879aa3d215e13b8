using System.Globalization;
using System.Text;
using Cluster.Grains;

namespace Cluster.Client.Training;

/// <summary>The loss curve as a self-contained SVG a person can open in any browser: loss per step, axes with their
/// ranges, the first and last loss written out.</summary>
public static class LossCurve
{
    public static void Write(string path, IReadOnlyList<TrainingStepRecord> steps, string title)
    {
        var points = steps.Where(s => double.IsFinite(s.Loss)).ToList();
        const double width = 720, height = 400, left = 60, right = 20, top = 40, bottom = 50;
        var svg = new StringBuilder();
        string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"24\" font-size=\"15\">{Escape(title)}</text>\n");
        if (points.Count > 0)
        {
            var (x0, x1) = (points[0].Step, Math.Max(points[^1].Step, points[0].Step + 1));
            var (y0, y1) = (Math.Min(0, points.Min(p => p.Loss)), points.Max(p => p.Loss) * 1.05);
            double X(double step) => left + (step - x0) / (x1 - x0) * (width - left - right);
            double Y(double loss) => height - bottom - (loss - y0) / (y1 - y0) * (height - top - bottom);
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{height - bottom}\" x2=\"{width - right}\" y2=\"{height - bottom}\" stroke=\"black\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{height - bottom}\" stroke=\"black\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left}\" y=\"{height - bottom + 18}\">{x0}</text><text x=\"{width - right}\" y=\"{height - bottom + 18}\" text-anchor=\"end\">{x1}</text>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{(left + width - right) / 2}\" y=\"{height - 12}\" text-anchor=\"middle\">optimizer step</text>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 6}\" y=\"{Y(y1) + 4}\" text-anchor=\"end\">{F(y1)}</text><text x=\"{left - 6}\" y=\"{Y(y0) + 4}\" text-anchor=\"end\">{F(y0)}</text>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text transform=\"translate(16,{(top + height - bottom) / 2}) rotate(-90)\" text-anchor=\"middle\">masked-LM loss (nats)</text>\n");
            svg.Append("<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"");
            foreach (var p in points) svg.Append(CultureInfo.InvariantCulture, $"{X(p.Step):F1},{Y(p.Loss):F1} ");
            svg.Append("\"/>\n");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{width - right}\" y=\"{top - 4}\" text-anchor=\"end\">loss {points[0].Loss:F3} → {points[^1].Loss:F3}</text>\n");
        }
        svg.Append("</svg>\n");
        File.WriteAllText(path, svg.ToString());
    }

    static string Escape(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
