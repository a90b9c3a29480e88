package io.qspark.job.app;

import io.qspark.job.base.UserError;
import io.qspark.job.eval.VariantScores;
import io.qspark.job.model.ModelBlob;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.quant.LayerRule;
import io.qspark.kernels.quant.PointVariants;
import io.qspark.kernels.quant.QuantPlan;
import io.qspark.kernels.quant.QuantConfig;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The accuracy budget on a finished calibration: every point below the budget's width is scored
 * raised on its own (one Spark job: the calibration with that point at the higher width); points
 * are then raised cumulatively in order of what each won back, until the calibration keeps within
 * the budget on the calibration images. Cumulative candidates are scored a few at a time, one job
 * each, and the first that holds is taken, so the result is the shortest prefix of that order
 * that holds. Raised points become layer rules after the config's own, so quant_info.json records
 * them and deploy and simulate follow them. Activations are re-decided from the calibration's
 * histograms, weights from their values; nothing is measured twice.
 */
final class BudgetSearch {
  private static final Logger LOG = LoggerFactory.getLogger("io.qspark.progress");

  /** A raised point: what it was, and what raising it alone gave (top-1 and output SQNR on the calibration images). */
  record Raised(PointVariants.Point point, int bits, double top1, double sqnrDb) {}

  /**
   * What the budget did.
   *
   * @param before top-1 (NaN without labels) and output SQNR of the requested widths
   * @param after the same with the points raised
   * @param met whether the budget holds (else every candidate was raised and it still does not)
   */
  record Outcome(AccuracyBudget budget, double floatTop1, double[] before, double[] after, boolean met, List<Raised> raised,
      int candidates, int jobs) {
    Map<String, Object> json() {
      Map<String, Object> m = new LinkedHashMap<>(budget.json());
      m.put("images", "calibration images");
      if (!Double.isNaN(floatTop1)) m.put("float_top1", round(floatTop1));
      m.put("before", figures(before));
      m.put("after", figures(after));
      m.put("met", met);
      m.put("candidates", candidates);
      m.put("scoring_jobs", jobs);
      List<Object> list = new ArrayList<>();
      for (Raised r : raised) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("point", r.point().name());
        e.put("kind", r.point().kind().key);
        if (r.point().node() != null) e.put("node", r.point().node());
        e.put("from_bits", r.point().bits());
        e.put("to_bits", r.bits());
        e.put("rule", r.point().rule(r.bits(), 0).match());
        if (!Double.isNaN(r.top1())) e.put("top1_raised_alone", round(r.top1()));
        e.put("output_sqnr_db_raised_alone", db(r.sqnrDb()));
        list.add(e);
      }
      m.put("raised", list);
      return m;
    }

    private static Map<String, Object> figures(double[] f) {
      Map<String, Object> m = new LinkedHashMap<>();
      if (!Double.isNaN(f[0])) m.put("top1", round(f[0]));
      m.put("output_sqnr_db", db(f[1]));
      return m;
    }

    /** For the console: "top-1 71.55 -> 92.40 (float 93.09), 9 points raised to 8 bits". */
    String describe() {
      String what = !Double.isNaN(floatTop1)
          ? String.format(Locale.ROOT, "top-1 %.2f -> %.2f (float %.2f)", before[0], after[0], floatTop1)
          : String.format(Locale.ROOT, "output SQNR %.1f -> %.1f dB", before[1], after[1]);
      return what + ", " + raised.size() + " of " + candidates + " points raised" + (met ? "" : "; NOT met (" + budget.describe() + ")");
    }
  }

  private BudgetSearch() {}

  /**
   * The calibration kept within the budget: {@code run.cfg} gets the raised points' rules and
   * {@code run.budget} what changed (which finish reports); returns the new decisions.
   */
  static CalibrationRun.Calibrated apply(CalibrationRun run, Graph g, ModelBlob blob,
      CalibrationRun.Calibrated c, AccuracyBudget b) {
    long t0 = System.nanoTime();
    Map.Entry<CalibrationRun.Calibrated, Outcome> r = search(run, g, blob, c, b);
    run.budget = r.getValue();
    run.budgetSeconds = (System.nanoTime() - t0) / 1e9;
    return r.getKey();
  }

  private static Map.Entry<CalibrationRun.Calibrated, Outcome> search(CalibrationRun run, Graph g, ModelBlob blob,
      CalibrationRun.Calibrated c, AccuracyBudget b) {
    if (b.top1()) run.inputs.images.requireLabels(run.inputs.plan.model().classes());
    QuantConfig cfg = run.cfg;
    List<PointVariants.Point> candidates = new ArrayList<>();
    for (PointVariants.Point p : PointVariants.points(c.plan())) if (p.bits() < b.raiseBits()) candidates.add(p);
    List<PointVariants.Variant> alone = new ArrayList<>();
    alone.add(new PointVariants.Variant("requested", cfg, c.params()));
    for (PointVariants.Point p : candidates) {
      alone.add(PointVariants.decided("raised " + p.name(), g, cfg, List.of(rule(c.plan(), p, b.raiseBits())),
          c.stats().histograms()));
    }
    VariantScores s = run.score(blob, alone, "accuracy budget: points raised one at a time");
    if (b.top1() && !s.labelled()) {
      throw new UserError("--max-drop needs labels for every calibration image; --min-sqnr works without");
    }
    int jobs = 1;
    double[] before = {s.labelled() ? s.top1(0) : Double.NaN, s.sqnrDb(0)};
    if (holds(b, s, 0)) {
      return Map.entry(c, new Outcome(b, s.floatTop1(), before, before, true, List.of(), candidates.size(), jobs));
    }
    if (candidates.isEmpty()) {
      return Map.entry(c, new Outcome(b, s.floatTop1(), before, before, false, List.of(), 0, jobs));
    }
    // what raising each point alone wins back, most first (ties: higher SQNR, then point order)
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < candidates.size(); i++) order.add(i);
    Comparator<Integer> byGain = Comparator.comparingDouble(i -> -(b.top1() ? s.top1(i + 1) : finite(s.sqnrDb(i + 1))));
    if (b.top1()) byGain = byGain.thenComparingDouble(i -> -finite(s.sqnrDb(i + 1)));
    order.sort(byGain.thenComparingInt(i -> i));
    int chunk = Math.max(4, 2 * run.sc().defaultParallelism());
    List<LayerRule> rules = new ArrayList<>();
    for (int k : order) rules.add(rule(c.plan(), candidates.get(k), b.raiseBits()));
    // the first n points of that order raised, decided a chunk at a time (as far as the search goes)
    List<PointVariants.Variant> prefixes = new ArrayList<>();
    int found = -1;
    VariantScores last = null;
    int lastIndex = -1;
    for (int from = 0; from < rules.size() && found < 0; from += chunk) {
      for (int n = from + 1; n <= Math.min(rules.size(), from + chunk); n++) {
        prefixes.add(PointVariants.decided("raised " + n, g, cfg, rules.subList(0, n), c.stats().histograms()));
      }
      List<PointVariants.Variant> part = prefixes.subList(from, prefixes.size());
      VariantScores ps = run.score(blob, part, "accuracy budget: raising " + (from + 1) + " to " + (from + part.size())
          + " points");
      jobs++;
      for (int j = 0; j < part.size() && found < 0; j++) {
        last = ps;
        lastIndex = j;
        if (holds(b, ps, j)) found = from + j;
      }
      LOG.info(String.format(Locale.ROOT, "accuracy budget: %d points raised: %s", from + part.size(),
          found >= 0 ? "holds with " + (found + 1) : "not yet within " + b.describe()));
    }
    int n = found >= 0 ? found + 1 : rules.size();
    PointVariants.Variant chosen = prefixes.get(n - 1);
    List<Raised> raised = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int k = order.get(i);
      raised.add(new Raised(candidates.get(k), b.raiseBits(), s.labelled() ? s.top1(k + 1) : Double.NaN, s.sqnrDb(k + 1)));
    }
    double[] after = {last.labelled() ? last.top1(lastIndex) : Double.NaN, last.sqnrDb(lastIndex)};
    run.cfg = chosen.config();
    QuantPlan plan = QuantPlan.of(g, chosen.config());
    return Map.entry(new CalibrationRun.Calibrated(plan, c.stats(), chosen.params()),
        new Outcome(b, s.floatTop1(), before, after, found >= 0, raised, candidates.size(), jobs));
  }

  /** The outcome on the console (a summary row and the points raised) and, when the budget is not met, as a warning. */
  static void report(Outcome o, double seconds, io.qspark.job.report.CalibrationReport report) {
    Map<String, Object> json = o.json();
    json.put("seconds", Math.round(seconds * 1000) / 1000.0);
    report.put("accuracy_budget", json);
    report.summaryRow("accuracy budget", o.budget().describe() + ": " + o.describe());
    if (!o.raised().isEmpty()) {
      report.summaryRow("raised to " + o.budget().raiseBits() + " bits",
          String.join(", ", o.raised().stream().map(r -> r.point().shown()).toList()));
    }
    if (!o.met()) {
      report.warn("the accuracy budget (" + o.budget().describe() + ") is not met on the calibration images even with every"
          + " point at " + o.budget().raiseBits() + " bits; the folder holds that calibration. Fine-tune it (qspark finetune)"
          + " or keep layers in float (--exclude-nodes)");
    }
  }

  /** The rule raising {@code p}: its width, and for weights the bias's too where it is narrower. */
  private static LayerRule rule(QuantPlan plan, PointVariants.Point p, int bits) {
    int bias = 0;
    for (String name : p.params()) {
      for (QuantPlan.ParamPoint q : plan.params()) {
        if (q.name().equals(name) && q.role() == QuantPlan.Role.BIAS && q.bits() < bits) bias = bits;
      }
    }
    return p.rule(bits, bias);
  }

  private static boolean holds(AccuracyBudget b, VariantScores s, int v) {
    return b.top1() ? s.floatTop1() - s.top1(v) <= b.maxDrop() : s.sqnrDb(v) >= b.minSqnrDb();
  }

  private static double finite(double db) {
    return Double.isInfinite(db) ? Math.copySign(1e9, db) : db;
  }

  static double round(double v) {
    return Math.round(v * 10000) / 10000.0;
  }

  static Object db(double v) {
    return Double.isFinite(v) ? round(v) : null;
  }
}
