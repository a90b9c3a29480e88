package io.qspark.job.report;

import io.qspark.job.eval.VariantScores;
import io.qspark.kernels.io.Json;
import io.qspark.kernels.quant.PointVariants;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantInfo;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Sensitivity analysis as people read it: every quantization point with the model's top-1 and
 * output SQNR when only that point is quantized, and when every point but it is, ranked most
 * sensitive first. sensitivity.json holds the figures alone (nothing about the run, so it is the
 * same bytes for any partitioning); report.json adds the run; the console gets the ranked table.
 *
 * <p>The ranking: with labels, by top-1 drop of the point quantized alone (else, by top-1 gain of
 * the point kept float), ties by output SQNR (lower first; kept float: higher first); without
 * labels by SQNR alone; remaining ties in point order.
 */
public final class SensitivityReport {
  /** sensitivity.json's format; a reader refuses newer ones. */
  public static final int FORMAT = 1;

  /**
   * Where a point's variants are among the scored ones.
   *
   * @param only the variant with only this point quantized, or -1 when not scored
   * @param allBut the variant with every point quantized but this one, or -1
   */
  public record Scored(PointVariants.Point point, int only, int allBut) {}

  private final String model;
  private final String sha256;
  private final QuantConfig cfg;
  private final VariantScores scores;
  private final int all;
  private final List<Scored> ranked;

  /** @param all the variant with every point quantized */
  public SensitivityReport(String model, String sha256, QuantConfig cfg, VariantScores scores, int all, List<Scored> points) {
    this.model = model;
    this.sha256 = sha256;
    this.cfg = cfg;
    this.scores = scores;
    this.all = all;
    List<Scored> r = new ArrayList<>(points);
    r.sort(order(points));
    this.ranked = List.copyOf(r);
  }

  private Comparator<Scored> order(List<Scored> original) {
    boolean top1 = scores.labelled();
    Comparator<Scored> c = Comparator.comparingDouble(s -> -key(s, top1));
    if (top1) c = c.thenComparingDouble(s -> -key(s, false));
    return c.thenComparingInt(original::indexOf);
  }

  /** Larger is more sensitive. */
  private double key(Scored s, boolean top1) {
    if (s.only() >= 0) return top1 ? scores.floatTop1() - scores.top1(s.only()) : -finite(scores.sqnrDb(s.only()));
    return top1 ? scores.top1(s.allBut()) - scores.top1(all) : finite(scores.sqnrDb(s.allBut()));
  }

  private static double finite(double db) {
    return Double.isInfinite(db) ? Math.copySign(1e9, db) : db;
  }

  public List<Scored> ranked() {
    return ranked;
  }

  public boolean labelled() {
    return scores.labelled();
  }

  /** The points, most sensitive first, with their figures: sensitivity.json's "points". */
  private List<Object> pointsJson() {
    List<Object> list = new ArrayList<>();
    int rank = 1;
    for (Scored s : ranked) {
      Map<String, Object> p = new LinkedHashMap<>();
      p.put("rank", rank++);
      p.put("point", s.point().name());
      p.put("kind", s.point().kind().key);
      if (s.point().node() != null) p.put("node", s.point().node());
      p.put("bits", s.point().bits());
      if (s.only() >= 0) p.put("only_quantized", variant(s.only(), scores.floatTop1(), true));
      if (s.allBut() >= 0) p.put("all_but_quantized", variant(s.allBut(), scores.top1(all), false));
      list.add(p);
    }
    return list;
  }

  /** @param base the top-1 the variant's is compared with: float's (a drop) or all-quantized's (a gain) */
  private Map<String, Object> variant(int v, double base, boolean drop) {
    Map<String, Object> m = new LinkedHashMap<>();
    if (scores.labelled()) {
      m.put("top1", round(scores.top1(v)));
      m.put(drop ? "top1_drop" : "top1_gain", round(drop ? base - scores.top1(v) : scores.top1(v) - base));
    }
    m.put("agreement", round(scores.agreement(v)));
    m.put("output_sqnr_db", db(scores.sqnrDb(v)));
    return m;
  }

  private static Object db(double v) {
    return Double.isFinite(v) ? round(v) : null;
  }

  static double round(double v) {
    return Math.round(v * 10000) / 10000.0;
  }

  /** sensitivity.json: the model, the quantization, the images' count, float and all-quantized figures, the ranked points. */
  public String json() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("format", FORMAT);
    Map<String, Object> mod = new LinkedHashMap<>();
    mod.put("name", model);
    mod.put("sha256", sha256);
    m.put("model", mod);
    m.put("quantization", QuantInfo.config(cfg));
    m.put("images", scores.images());
    m.put("ranked_by", scores.labelled() ? "top1" : "output_sqnr_db");
    if (scores.labelled()) m.put("float_top1", round(scores.floatTop1()));
    m.put("all_quantized", variant(all, scores.floatTop1(), true));
    m.put("points", pointsJson());
    return Json.write(m);
  }

  /** sensitivity.csv: one row per point, ranked; empty cells where a figure was not computed. */
  public String csv() {
    StringBuilder b = new StringBuilder("rank,point,kind,node,bits,only_top1_drop,only_output_sqnr_db,all_but_top1_gain,"
        + "all_but_output_sqnr_db\n");
    int rank = 1;
    for (Scored s : ranked) {
      b.append(rank++).append(',').append(csvCell(s.point().name())).append(',').append(s.point().kind().key).append(',')
          .append(s.point().node() == null ? "" : csvCell(s.point().node())).append(',').append(s.point().bits());
      b.append(',').append(s.only() >= 0 && labelled() ? num(scores.floatTop1() - scores.top1(s.only())) : "");
      b.append(',').append(s.only() >= 0 ? num(scores.sqnrDb(s.only())) : "");
      b.append(',').append(s.allBut() >= 0 && labelled() ? num(scores.top1(s.allBut()) - scores.top1(all)) : "");
      b.append(',').append(s.allBut() >= 0 ? num(scores.sqnrDb(s.allBut())) : "");
      b.append('\n');
    }
    return b.toString();
  }

  private static String num(double v) {
    if (v == Double.POSITIVE_INFINITY) return "inf";
    return String.format(Locale.ROOT, "%.4f", round(v));
  }

  private static String csvCell(String s) {
    return s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
  }

  /** report.json's figures: sensitivity.json's, as "sensitivity" (the page draws them). */
  @SuppressWarnings("unchecked")
  public Map<String, Object> figures() {
    return (Map<String, Object>) Json.read(json());
  }

  /** The ranked table: at most {@code rows} points (all when 0), most sensitive first. */
  public void printTable(PrintWriter out, int rows) {
    boolean only = ranked.stream().anyMatch(s -> s.only() >= 0), allBut = ranked.stream().anyMatch(s -> s.allBut() >= 0);
    List<String> h = new ArrayList<>(List.of("rank>", "point", "bits>"));
    if (only && labelled()) h.add("top-1 drop alone>");
    if (only) h.add("SQNR alone dB>");
    if (allBut && labelled()) h.add("top-1 gain kept float>");
    if (allBut) h.add("SQNR kept float dB>");
    TextTable t = new TextTable(h.toArray(new String[0]));
    int rank = 1;
    for (Scored s : ranked) {
      if (rows > 0 && rank > rows) break;
      List<Object> r = new ArrayList<>(List.of(rank++, s.point().shown(), s.point().bits()));
      if (only && labelled()) r.add(fmt(scores.floatTop1() - scores.top1(s.only()), 2));
      if (only) r.add(fmt(scores.sqnrDb(s.only()), 1));
      if (allBut && labelled()) r.add(fmt(scores.top1(s.allBut()) - scores.top1(all), 2));
      if (allBut) r.add(fmt(scores.sqnrDb(s.allBut()), 1));
      t.row(r.toArray());
    }
    out.println(String.format(Locale.ROOT, "%d quantization points on %d images; all quantized: %s",
        ranked.size(), scores.images(), labelled() ? String.format(Locale.ROOT, "top-1 %.2f (float %.2f), output SQNR %s dB",
            scores.top1(all), scores.floatTop1(), fmt(scores.sqnrDb(all), 1))
            : "output SQNR " + fmt(scores.sqnrDb(all), 1) + " dB"));
    t.print(out);
    if (rows > 0 && ranked.size() > rows) out.println("(" + (ranked.size() - rows) + " more in sensitivity.csv)");
  }

  private static String fmt(double v, int digits) {
    if (v == Double.POSITIVE_INFINITY) return "inf";
    return String.format(Locale.ROOT, "%." + digits + "f", v);
  }
}
