package io.qspark.kernels.train;

import io.qspark.kernels.graph.Graph;
import io.qspark.kernels.quant.FixPoint;
import io.qspark.kernels.quant.QuantParams;
import io.qspark.kernels.quant.QuantPlan;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which quantization points learn their threshold under TQT, and how log2 thresholds become
 * the fix_points a step computes with. Every activation point learns one except the network
 * input's (its fix_point belongs to the preprocessing, and the first conv needs no input
 * gradient); weights and biases keep their own fix_points, chosen from their values. A log2
 * threshold log_t stands for fix_point = b − 1 − ceil(log_t) (Vitis' export rule), so a
 * calibrated fix_point starts as log_t = b − 1 − fix_point and the first step quantizes exactly
 * as fixed QAT does. The fix_points of a step are legalised as calibrate's are (shift_cut,
 * bias and eltwise shifts), so training sees exactly what deploy will compute.
 */
public final class TqtThresholds {
  private final Graph inference;
  private final QuantPlan plan;
  private final QuantParams calibrated;
  private final List<String> points = new ArrayList<>();
  private final Map<String, Integer> index = new LinkedHashMap<>();

  /** @param inference the inference graph the plan and the calibration belong to */
  public TqtThresholds(Graph inference, QuantPlan plan, QuantParams calibrated) {
    this.inference = inference;
    this.plan = plan;
    this.calibrated = calibrated;
    for (QuantPlan.ActivationPoint a : plan.activations()) {
      if (a.members().stream().anyMatch(inference::isInput)) continue;
      index.put(a.name(), points.size());
      points.add(a.name());
    }
  }

  /** The learning points, in the plan's order: the order of log thresholds and their gradients. */
  public List<String> points() {
    return points;
  }

  /** The index of the learning point that quantizes a value, or -1 (for {@link TqtGrad}). */
  public int indexOf(String value) {
    String p = plan.pointOf(value);
    Integer i = p == null ? null : index.get(p);
    return i == null ? -1 : i;
  }

  public QuantParams calibrated() {
    return calibrated;
  }

  /** log_t = b − 1 − fix_point of each point's calibrated quantizer. */
  public float[] initial() {
    float[] t = new float[points.size()];
    for (int i = 0; i < t.length; i++) {
      FixPoint q = calibrated.activation(points.get(i));
      t[i] = q.bits() - 1 - q.fixPoint();
    }
    return t;
  }

  /** fix_point = b − 1 − ceil(log_t), within the fix_points calibration allows. */
  public static int fixPoint(int bits, float logThreshold) {
    double fp = bits - 1 - Math.ceil(logThreshold);
    return (int) Math.max(-64, Math.min(FixPoint.maxFixPointFor(bits), fp));
  }

  /** Every quantizer of a step with these log thresholds, legalised. */
  public QuantParams params(float[] logThresholds) {
    if (logThresholds.length != points.size()) {
      throw new IllegalArgumentException(logThresholds.length + " thresholds for " + points.size() + " points");
    }
    Map<String, FixPoint> acts = new LinkedHashMap<>(calibrated.activations());
    for (int i = 0; i < logThresholds.length; i++) {
      FixPoint c = calibrated.activation(points.get(i));
      acts.put(points.get(i), new FixPoint(c.bits(), fixPoint(c.bits(), logThresholds[i]), c.rounding(), c.signed()));
    }
    return QuantParams.legalized(inference, plan, acts, calibrated.params());
  }
}
