package io.qspark.job.app;

import io.qspark.job.eval.VariantScores;
import io.qspark.job.model.ModelBlob;
import io.qspark.job.report.CalibrationReport;
import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.ParamQuant;
import io.qspark.kernels.quant.PointVariants;
import io.qspark.kernels.quant.QuantConfig;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Output-aware refinement of a calibration's fix_points (--refine-rounds). A method such as mse
 * chooses each point's fix_point by that tensor's own error; the model's outputs can prefer
 * another by one step. On tiny_yolo at 8 bits, for one, the first SiLU outputs do better with
 * the wider range: what clipping costs there is amplified by the 50 layers after them more than
 * the finer step wins (BENCHMARKS.md, issue 17).
 *
 * <p>Each round scores, against the float model's outputs on the first N calibration images, the
 * calibration with one point's fix_point moved one step either way: every activation point and
 * every per-tensor power-of-two weight, the DPU's shifts legalised after the move. That is one
 * Spark job ({@link io.qspark.job.spark.SensitivityJob}, whose variants recompute only what lies
 * downstream of the point they move). The moves that raise the objective, best first and one per
 * point, are then scored together as the best 1, 2, 4, ... of them, all of them last, in a
 * second job, and the round keeps the candidate that scores highest if it beats the current
 * calibration; a round without one ends the search. The objective is the mean over the model's
 * outputs of each output's SQNR in dB, so every output counts whatever its size. Scores are
 * exact sums ({@link VariantScores}) and ties go to the earlier move and the smaller candidate,
 * so the refined calibration is the same for any partitioning; and it is never worse than the
 * method's on those images, since a round changes nothing unless it scores higher.
 */
final class FixPointRefinement {
  private static final Logger LOG = LoggerFactory.getLogger("io.qspark.progress");

  private FixPointRefinement() {}

  /** One fix_point moved: an activation point (by its name) or a layer's weights (by the weight's name). */
  record Move(String point, boolean weights, int from, int to) {
    Map<String, Object> json() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("point", point);
      m.put("kind", weights ? "weights" : "activation");
      m.put("from", from);
      m.put("to", to);
      return m;
    }
  }

  /** A round: the objective before and after it, the moves it kept, and how many it scored. */
  record Round(double before, double after, List<Move> moves, int scored) {
    Map<String, Object> json() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("before_db", round(before));
      m.put("after_db", round(after));
      m.put("moves_scored", scored);
      m.put("moves_kept", moves.stream().map(Move::json).toList());
      return m;
    }
  }

  /**
   * What the refinement did.
   *
   * @param before the objective (mean output SQNR in dB) of the calibration it started from
   * @param after the same for the refined one
   */
  record Outcome(Refinement settings, long images, double before, double after, List<Round> rounds, double seconds) {
    int moved() {
      Set<String> points = new HashSet<>();
      for (Round r : rounds) for (Move m : r.moves()) points.add((m.weights() ? "w:" : "a:") + m.point());
      return points.size();
    }

    String describe() {
      return String.format(Locale.ROOT, "%d of %d rounds on %d calibration images: mean output SQNR %.2f -> %.2f dB, %d fix_points moved",
          rounds.size(), settings.rounds(), images, before, after, moved());
    }

    void report(CalibrationReport report) {
      Map<String, Object> m = new LinkedHashMap<>(settings.json());
      m.put("images_scored", images);
      m.put("objective", "mean over the outputs of each output's SQNR (dB) against the float model");
      m.put("before_db", round(before));
      m.put("after_db", round(after));
      m.put("fix_points_moved", moved());
      m.put("seconds", round(seconds));
      m.put("rounds", rounds.stream().map(Round::json).toList());
      report.put("refinement", m);
      report.summaryRow("refinement", describe());
    }
  }

  record Result(CalibrationRun.Calibrated calibrated, Outcome outcome) {}

  /**
   * Refines {@code c}, a calibration of the model in {@code model}.
   *
   * @param reference the float model whose outputs are the target (the model the user gave; for
   *     a fine-tuned model, not the tuned one)
   */
  static Result apply(CalibrationRun run, Graph g, ModelBlob model, ModelBlob reference, CalibrationRun.Calibrated c,
      Refinement settings) {
    long t0 = System.nanoTime();
    // power-of-two scales only: CalibrateSettings refuses a refinement of float scales
    QuantConfig cfg = run.cfg;
    QuantPlan plan = c.plan();
    ImageInputs in = run.firstImages(settings.images());
    int partitions = run.partitionsOf(in);
    Map<String, FixPoint> acts = new LinkedHashMap<>(c.params().activations());
    Map<String, ParamQuant> ps = new LinkedHashMap<>(c.params().quantizers());
    QuantParams cur = c.params();
    double start = Double.NaN, now = Double.NaN;
    List<Round> rounds = new ArrayList<>();
    for (int r = 1; r <= settings.rounds(); r++) {
      List<Move> moves = new ArrayList<>();
      List<PointVariants.Variant> variants = new ArrayList<>();
      variants.add(new PointVariants.Variant("current", cfg, cur));
      for (Move m : moves(plan, acts, ps)) {
        QuantParams p = QuantParams.legalized(g, plan, movedActs(acts, m), movedParams(ps, m), cfg);
        if (same(p, cur)) continue;
        moves.add(m);
        variants.add(new PointVariants.Variant(m.point() + " " + m.to(), cfg, p));
      }
      String stage = String.format(Locale.ROOT, "refine round %d/%d", r, settings.rounds());
      VariantScores s = run.score(model, reference, cur, in, partitions, variants, stage + ": " + moves.size() + " moves");
      double base = s.meanOutputSqnrDb(0);
      if (r == 1) start = base;
      now = base;
      // the improving moves, best first (ties: the earlier move), one per point
      List<Integer> better = new ArrayList<>();
      for (int i = 0; i < moves.size(); i++) if (s.meanOutputSqnrDb(i + 1) > base) better.add(i);
      better.sort((x, y) -> {
        int byScore = Double.compare(s.meanOutputSqnrDb(y + 1), s.meanOutputSqnrDb(x + 1));
        return byScore != 0 ? byScore : Integer.compare(x, y);
      });
      List<Move> ranked = new ArrayList<>();
      Set<String> points = new HashSet<>();
      for (int i : better) if (points.add(key(moves.get(i)))) ranked.add(moves.get(i));
      if (ranked.isEmpty()) {
        rounds.add(new Round(base, base, List.of(), moves.size()));
        LOG.info(String.format(Locale.ROOT, "%s: %.3f dB, no move scores higher", stage, base));
        break;
      }
      List<Integer> sizes = new ArrayList<>();
      for (int k = 1; k < ranked.size(); k *= 2) sizes.add(k);
      sizes.add(ranked.size());
      List<PointVariants.Variant> candidates = new ArrayList<>();
      List<Map<String, FixPoint>> candActs = new ArrayList<>();
      List<Map<String, ParamQuant>> candPs = new ArrayList<>();
      for (int k : sizes) {
        Map<String, FixPoint> a = acts;
        Map<String, ParamQuant> p = ps;
        for (Move m : ranked.subList(0, k)) {
          a = movedActs(a, m);
          p = movedParams(p, m);
        }
        candActs.add(a);
        candPs.add(p);
        candidates.add(new PointVariants.Variant("best " + k, cfg, QuantParams.legalized(g, plan, a, p, cfg)));
      }
      VariantScores t = run.score(model, reference, cur, in, partitions, candidates, stage + ": " + candidates.size() + " candidates");
      int best = 0;
      for (int i = 1; i < candidates.size(); i++) if (t.meanOutputSqnrDb(i) > t.meanOutputSqnrDb(best)) best = i;
      double after = t.meanOutputSqnrDb(best);
      if (!(after > base)) {
        rounds.add(new Round(base, base, List.of(), moves.size()));
        LOG.info(String.format(Locale.ROOT, "%s: %.3f dB, no set of moves scores higher together", stage, base));
        break;
      }
      acts = candActs.get(best);
      ps = candPs.get(best);
      cur = candidates.get(best).params();
      now = after;
      rounds.add(new Round(base, after, List.copyOf(ranked.subList(0, sizes.get(best))), moves.size()));
      LOG.info(String.format(Locale.ROOT, "%s: %.3f -> %.3f dB (%d of %d improving moves)", stage, base, after,
          sizes.get(best), ranked.size()));
    }
    Outcome o = new Outcome(settings, in.images.count(), start, now, rounds, (System.nanoTime() - t0) / 1e9);
    return new Result(new CalibrationRun.Calibrated(plan, c.stats(), cur), o);
  }

  /** Every one-step move of the decisions: activation points in plan order, then per-tensor power-of-two weights. */
  static List<Move> moves(QuantPlan plan, Map<String, FixPoint> acts, Map<String, ParamQuant> ps) {
    List<Move> r = new ArrayList<>();
    for (QuantPlan.ActivationPoint a : plan.activations()) {
      FixPoint f = acts.get(a.name());
      if (f != null && f.powerOfTwo()) steps(r, a.name(), false, f.fixPoint());
    }
    for (QuantPlan.ParamPoint p : plan.params()) {
      if (p.role() != QuantPlan.Role.WEIGHT) continue;
      ParamQuant q = ps.get(p.name());
      if (q != null && !q.perChannel() && q.powerOfTwo()) steps(r, p.name(), true, q.perTensor().fixPoint());
    }
    return r;
  }

  private static void steps(List<Move> r, String name, boolean weights, int fp) {
    for (int d : new int[] {-1, 1}) {
      int to = fp + d;
      if (Math.abs(to) <= FixPoint.MAX_FIX_POINT) r.add(new Move(name, weights, fp, to));
    }
  }

  private static Map<String, FixPoint> movedActs(Map<String, FixPoint> acts, Move m) {
    if (m.weights()) return acts;
    Map<String, FixPoint> r = new LinkedHashMap<>(acts);
    FixPoint f = r.get(m.point());
    r.put(m.point(), new FixPoint(f.bits(), m.to(), f.rounding(), f.signed()));
    return r;
  }

  private static Map<String, ParamQuant> movedParams(Map<String, ParamQuant> ps, Move m) {
    if (!m.weights()) return ps;
    Map<String, ParamQuant> r = new LinkedHashMap<>(ps);
    FixPoint f = r.get(m.point()).perTensor();
    r.put(m.point(), ParamQuant.of(new FixPoint(f.bits(), m.to(), f.rounding(), f.signed())));
    return r;
  }

  private static String key(Move m) {
    return (m.weights() ? "w:" : "a:") + m.point();
  }

  private static boolean same(QuantParams a, QuantParams b) {
    return a.activations().equals(b.activations()) && a.quantizers().equals(b.quantizers());
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }
}
